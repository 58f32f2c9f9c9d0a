// The back office as the town's staff use it, in Chromium against telmail-local: a resident
// signs up and confirms from the outbox; a writer composes with accents, sees the characters
// forcing Unicode and fixes them in one click, then submits; a cabinet member approves from a
// phone-sized window; the progress bar reaches the end; the message is in the administrator's outbox viewer; the
// resident unsubscribes from the link in the email; the dashboard figures move. axe-core checks
// every page, public and staff (WCAG 2.1 A and AA); screenshots go to target/browser-screenshots.

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';

import { STAFF_PASSWORD, axeViolations, headerOf, launchBrowser, startServer, waitFor, waitForEmail } from './support.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const shots = resolve(here, '..', '..', 'target', 'browser-screenshots');

const desktop = { viewport: { width: 1280, height: 900 } };
const phone = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };

let server;
let browser;

before(async () => {
  mkdirSync(shots, { recursive: true });
  // A relay accepting 1,000 emails a day: the estimates and the cabinet's pages show what is left.
  server = await startServer({ staff: true, env: { TELMAIL_EMAIL_DAILY_QUOTA: '1000' } });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** A fresh browser (no cookies) at a window size; axe is injected into its pages. */
async function open(size) {
  const context = await browser.newContext({ ...size, locale: 'fr-FR', bypassCSP: true, acceptDownloads: true });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // Script errors only: answers such as a 401 before signing in or a 422 shown next to a field
  // are the pages at work, not failures.
  page.on('console', (m) => m.type() === 'error' && !m.text().startsWith('Failed to load resource') && errors.push(m.text()));
  return { context, page, errors };
}

/** Runs axe-core on the page (WCAG 2.1 A and AA): no violation; then a screenshot. */
async function check(page, name) {
  assert.deepEqual(await axeViolations(page), [], `axe on ${name} (${page.url()})`);
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

/** Signs a staff member in at /admin. */
async function signIn(page, username) {
  await page.goto(`${server.base}/admin`);
  await page.getByLabel('Identifiant').fill(username);
  await page.getByLabel('Mot de passe').fill(STAFF_PASSWORD);
  await Promise.all([page.waitForURL(`${server.base}/admin`), page.getByRole('button', { name: 'Se connecter' }).click()]);
  await page.getByRole('heading', { level: 1, name: 'Tableau de bord' }).waitFor();
}

/** The dashboard's figure labelled `label`, as a number. */
async function figure(page, label) {
  const card = page.locator('#figures .card').filter({ has: page.locator('.figure-label', { hasText: label }) });
  return Number((await card.locator('.figure').innerText()).replace(/\s/g, ''));
}

test('a campaign goes from the composer through the cabinet to the resident, in the back office', async () => {
  const resident = 'lea.martin@exemple.fr';

  // A resident signs up (email, Informations pratiques) and confirms from the email.
  const home = await open(desktop);
  for (const path of ['/donnees-personnelles', '/accessibilite', '/mentions-legales']) {
    const answer = await home.page.goto(`${server.base}${path}`);
    assert.equal(answer.status(), 200, path);
    await check(home.page, `public${path.replace('/', '-')}`);
  }
  await home.page.goto(`${server.base}/inscription`);
  await check(home.page, 'public-inscription');
  await home.page.getByLabel('Adresse e-mail', { exact: true }).fill(resident);
  await home.page.getByLabel('Informations pratiques par email', { exact: true }).check();
  await home.page.getByRole('checkbox', { name: /^J'accepte que la Ville/ }).check();
  await Promise.all([home.page.waitForNavigation(), home.page.getByRole('button', { name: "Je m'inscris" }).click()]);
  const confirmation = await waitForEmail(server.dataDir, resident);
  const link = confirmation.text.match(/https?:\/\/\S+\/confirmation\?\S+/)[0].replace(/^https?:\/\/[^/]+/, server.base);
  await home.page.goto(link);
  await check(home.page, 'public-confirmation');
  await Promise.all([home.page.waitForNavigation(), home.page.getByRole('button', { name: /Confirmer/ }).click()]);
  await check(home.page, 'public-confirmee');

  // The sign-in page, then the writer's dashboard.
  const writer = await open(desktop);
  await writer.page.goto(`${server.base}/admin`);
  await check(writer.page, 'admin-connexion');
  await signIn(writer.page, 'redac');
  await check(writer.page, 'admin-tableau-de-bord');
  const sentBefore = await figure(writer.page, 'campagnes envoyées');
  const emailsBefore = await figure(writer.page, 'e-mails envoyés');
  assert.equal(sentBefore, 0);

  // The composer: an accented SMS, the characters forcing Unicode pointed out, fixed in one click.
  await writer.page.getByRole('link', { name: 'Rédiger' }).click();
  await writer.page.getByRole('heading', { level: 1, name: 'Rédiger une campagne' }).waitFor();
  await writer.page.getByLabel('Titre interne (jamais envoyé)').fill('Fête de la plage');
  await writer.page.getByLabel('Informations pratiques').check();
  await writer.page.getByLabel('Texte du SMS').fill('Fête de la plage samedi : venez nombreux à l’île aux oiseaux !');
  const counter = writer.page.locator('#sms-counter');
  await waitFor('the counter to say Unicode', async () => (await counter.innerText()).includes('Unicode'));
  await writer.page.getByRole('button', { name: 'Remplacer « ê » par « e »' }).waitFor();
  await check(writer.page, 'admin-rediger-unicode');
  await writer.page.getByRole('button', { name: 'Remplacer « ê » par « e »' }).click();
  await writer.page.getByRole('button', { name: 'Remplacer « ’ » par « \' »' }).click();
  await writer.page.getByRole('button', { name: 'Remplacer « î » par « i »' }).click();
  await waitFor('the counter to say GSM-7', async () => (await counter.innerText()).includes('GSM-7'));
  assert.equal(await writer.page.getByLabel('Texte du SMS').inputValue(), "Fete de la plage samedi : venez nombreux à l'ile aux oiseaux !");
  assert.match(await counter.innerText(), /1 SMS \(GSM-7\)/);
  await writer.page.getByLabel('Envoyer un SMS').uncheck();
  await writer.page.getByLabel('Objet').fill('Fête de la plage samedi');
  await writer.page.getByLabel(/^Texte \(Markdown/).fill('**Rendez-vous samedi** sur la plage, à 15 h.\n\n- jeux\n- concert');
  const preview = writer.page.frameLocator('#preview');
  await preview.getByText('Rendez-vous samedi').waitFor();
  await writer.page.getByRole('button', { name: 'Enregistrer le brouillon' }).click();
  await writer.page.getByText('Brouillon enregistré.').waitFor();
  assert.match(await writer.page.locator('#estimate').innerText(), /Destinataires par e-mail\s*1/);
  await check(writer.page, 'admin-rediger');
  await Promise.all([
    writer.page.waitForURL(/\/admin\/campagnes\/[0-9a-f-]+/),
    writer.page.getByRole('button', { name: 'Soumettre au cabinet' }).click(),
  ]);
  const campaignUrl = writer.page.url().replace(/\?.*$/, '');
  await writer.page.getByText('soumise au cabinet', { exact: true }).first().waitFor();
  await check(writer.page, 'admin-campagne-soumise');

  // The cabinet approves from a phone: the approval queue, then the campaign's page.
  const cabinet = await open(phone);
  await signIn(cabinet.page, 'cabinet');
  await cabinet.page.goto(`${server.base}/admin/approbations`);
  await cabinet.page.getByRole('link', { name: 'Fête de la plage' }).first().waitFor();
  // The provider's daily quota, and what is left of it, before the decision.
  const quotaLeft = /Quota d'e-mails\s*1\s000 restants sur 1\s000 par 24 h/;
  await waitFor('the quota on the approval queue', async () => quotaLeft.test(await cabinet.page.locator('#queue').innerText()));
  await check(cabinet.page, 'admin-approbations-telephone');
  await cabinet.page.getByRole('link', { name: 'Examiner et décider' }).click();
  await cabinet.page.getByRole('button', { name: 'Approuver et envoyer' }).waitFor();
  await cabinet.page.getByRole('heading', { name: 'Limites des fournisseurs' }).waitFor();
  assert.match(await cabinet.page.locator('#campaign').innerText(), quotaLeft);
  await check(cabinet.page, 'admin-decision-telephone');
  await cabinet.page.getByRole('button', { name: 'Approuver et envoyer' }).click();
  await cabinet.page.getByRole('button', { name: 'Confirmer et envoyer' }).click();
  await cabinet.page.getByText("Campagne approuvée : l'envoi commence.").waitFor();

  // The progress bar reaches the end.
  await writer.page.goto(campaignUrl);
  await waitFor('the campaign to be sent', async () => {
    await writer.page.reload();
    await writer.page.locator('#campaign > dl.facts').waitFor();
    return (await writer.page.locator('#campaign > dl.facts .status').innerText()) === 'envoyée';
  }, 30_000);
  const bar = writer.page.getByRole('progressbar', { name: /E-mails/ });
  assert.equal(await bar.getAttribute('value'), await bar.getAttribute('max'));
  await check(writer.page, 'admin-campagne-envoyee');

  // The outbox viewer (administrators only) shows the email.
  const admin = await open(desktop);
  await signIn(admin.page, 'admin');
  await admin.page.goto(`${server.base}/admin/boite-d-envoi`);
  await admin.page.getByRole('button', { name: 'Fête de la plage samedi' }).click();
  await admin.page.frameLocator('#email-frame').getByText('Rendez-vous samedi').waitFor();
  await check(admin.page, 'admin-boite-d-envoi');

  // The resident unsubscribes from the link in the email.
  const campaignEmail = await waitForEmail(server.dataDir, resident, 2);
  const unsubscribe = headerOf(campaignEmail, 'list-unsubscribe')
    .match(/<(https?:\/\/[^>]+)>/)[1]
    .replace(/^https?:\/\/[^/]+/, server.base);
  await home.page.goto(unsubscribe);
  await check(home.page, 'public-desabonnement');
  await Promise.all([home.page.waitForNavigation(), home.page.getByRole('button', { name: 'Confirmer mon désabonnement' }).click()]);

  // The dashboard's figures moved.
  await writer.page.goto(`${server.base}/admin`);
  await writer.page.getByRole('heading', { level: 1, name: 'Tableau de bord' }).waitFor();
  await waitFor('the figures', async () => (await figure(writer.page, 'campagnes envoyées')) === sentBefore + 1);
  assert.equal(await figure(writer.page, 'e-mails envoyés'), emailsBefore + 1);
  assert.ok((await figure(writer.page, 'départs')) >= 1);
  await check(writer.page, 'admin-tableau-de-bord-apres');

  for (const [path, name] of [
    ['/admin/campagnes', 'admin-campagnes'],
    ['/admin/meteo', 'admin-meteo'],
  ]) {
    await writer.page.goto(`${server.base}${path}`);
    await writer.page.waitForLoadState('networkidle');
    await check(writer.page, name);
  }
  for (const [ctx, who] of [
    [home, 'habitant'],
    [writer, 'redaction'],
    [cabinet, 'cabinet'],
    [admin, 'admin'],
  ]) {
    assert.deepEqual(ctx.errors, [], `script errors in the ${who}'s pages`);
    await ctx.context.close();
  }
});

test('the administrator keeps the subscriber file, topics and blocked addresses', async () => {
  const admin = await open(desktop);
  await signIn(admin.page, 'admin');
  // The menu shows what the administrator's role allows, and not the composer.
  assert.equal(await admin.page.getByRole('link', { name: 'Rédiger' }).isVisible(), false);
  await admin.page.getByRole('link', { name: 'Abonnés' }).click();
  await admin.page.getByLabel('Référence du formulaire (preuve du consentement)').waitFor();
  await admin.page.locator('#paper').getByLabel('Adresse e-mail').fill('pas-une-adresse');
  await admin.page.locator('#paper').getByLabel('Référence du formulaire (preuve du consentement)').fill('P-2026-001');
  await admin.page.getByRole('button', { name: 'Ajouter' }).click();
  // The error is in French, next to its field.
  const error = admin.page.locator('#paper .field-error').first();
  await error.waitFor();
  assert.match(await error.innerText(), /adresse/i);
  await check(admin.page, 'admin-abonnes-erreur');
  await admin.page.locator('#paper').getByLabel('Adresse e-mail').fill('paul.durand@exemple.fr');
  await admin.page.getByLabel('Alerte météo par e-mail').first().check();
  await admin.page.getByRole('button', { name: 'Ajouter' }).click();
  await admin.page.getByText('Abonné ajouté : paul.durand@exemple.fr.').waitFor();
  await admin.page.getByRole('cell', { name: 'paul.durand@exemple.fr' }).waitFor();
  await check(admin.page, 'admin-abonnes');

  // A spreadsheet file: sent to its link, checked line by line, then imported (valid lines).
  const csv = 'email;themes;reference\r\nmarie.martin@exemple.fr;Alerte météo;P-2026-002\r\npas-une-adresse;Alerte météo;P-2026-003\r\n';
  await admin.page.getByLabel('Fichier', { exact: true }).setInputFiles({ name: 'inscriptions.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
  await admin.page.getByLabel('Si des lignes sont invalides').selectOption('valid_only');
  await admin.page.getByRole('button', { name: 'Vérifier le fichier' }).click();
  await admin.page.getByText("2 ligne(s) lue(s) : 1 valide(s), 1 en erreur. Rien n'a encore été importé.").waitFor();
  await admin.page.getByRole('cell', { name: '3', exact: true }).waitFor();
  await check(admin.page, 'admin-abonnes-import-verifie');
  await admin.page.getByRole('button', { name: 'Importer la ligne valide', exact: true }).click();
  await admin.page.getByText('1 abonné(s) importé(s) sur 2 ligne(s).').waitFor();
  await admin.page.getByRole('cell', { name: 'marie.martin@exemple.fr' }).waitFor();

  // The export is written beside the page, then downloaded through its link.
  const [download] = await Promise.all([admin.page.waitForEvent('download'), admin.page.getByRole('button', { name: 'Exporter (CSV)' }).click()]);
  assert.match(download.suggestedFilename(), /^abonnes-telmail-\d{4}-\d{2}-\d{2}\.csv$/);
  const exported = readFileSync(await download.path(), 'utf8');
  assert.match(exported, /paul\.durand@exemple\.fr/);
  assert.match(exported, /marie\.martin@exemple\.fr/);
  // Every subscriber of the file, those of the other tests too.
  await admin.page.getByText(/^Export prêt : \d+ abonné\(s\)\. Le téléchargement commence\. Lignes par date d'inscription\.$/).waitFor();

  await admin.page.getByRole('link', { name: 'Thèmes' }).click();
  await admin.page.getByLabel('Identifiant (lettres minuscules, chiffres et tirets, ex. travaux-coeur-de-ville)').fill('travaux-coeur-de-ville');
  await admin.page.getByLabel('Nom montré aux habitants').fill('Travaux Cœur de Ville');
  await admin.page.getByLabel('Durée').selectOption('temporary');
  // Ends in about seven months, whatever day the test runs on.
  const lastDay = new Date(Date.now() + 210 * 86_400_000).toISOString().slice(0, 10);
  await admin.page.getByLabel('Dernier jour (thème temporaire)').fill(lastDay);
  await admin.page.getByRole('button', { name: 'Créer le thème' }).click();
  await admin.page.getByText('Thème « Travaux Cœur de Ville » créé.').waitFor();
  await check(admin.page, 'admin-themes');

  await admin.page.getByRole('link', { name: 'Adresses bloquées' }).click();
  await admin.page.getByText('Aucune adresse n\'est bloquée.').waitFor();
  await check(admin.page, 'admin-adresses-bloquees');
  assert.deepEqual(admin.errors, []);
  await admin.context.close();
});

test('a department proposes, the communication service takes it, the cabinet approves, the proposer is told it was sent', async () => {
  // The culture department proposes from its own page.
  const culture = await open(desktop);
  await culture.page.goto(`${server.base}/admin`);
  await culture.page.getByLabel('Identifiant').fill('culture');
  await culture.page.getByLabel('Mot de passe').fill(STAFF_PASSWORD);
  await Promise.all([culture.page.waitForURL(`${server.base}/admin/propositions`), culture.page.getByRole('button', { name: 'Se connecter' }).click()]);
  await culture.page.getByRole('heading', { level: 2, name: 'Proposer une information' }).waitFor();
  assert.equal(await culture.page.getByRole('link', { name: 'Rédiger' }).isVisible(), false);
  await culture.page.getByRole('button', { name: 'Envoyer la proposition' }).click();
  await culture.page.locator('#propose .field-error').first().waitFor();
  await check(culture.page, 'admin-propositions-erreurs');
  await culture.page.getByLabel('Alerte météo', { exact: true }).check();
  await culture.page.getByLabel('Titre').fill('Concert de Noël');
  await culture.page.getByLabel("Texte de l'information").fill('Concert gratuit au théâtre Olympia, samedi 19 décembre à 20 h.');
  await culture.page.getByLabel('Date importante (événement, date limite d\'inscription)').fill('2099-12-19');
  await culture.page.getByLabel('Un SMS serait utile en plus du courriel').check();
  await culture.page.getByLabel('Personne à contacter (nom, téléphone ou courriel)').fill('Claire, service culture, 05 57 00 00 00');
  await culture.page.getByRole('button', { name: 'Envoyer la proposition' }).click();
  await culture.page.getByText('Proposition « Concert de Noël » envoyée au service communication.').waitFor();
  await culture.page.getByRole('cell', { name: 'nouvelle' }).waitFor();
  await check(culture.page, 'admin-propositions-service');

  // The communication service takes it into a draft, submits it to the cabinet.
  const writer = await open(desktop);
  await signIn(writer.page, 'redac');
  await writer.page.getByRole('link', { name: 'Propositions' }).click();
  await writer.page.getByRole('checkbox', { name: 'Choisir « Concert de Noël »' }).check();
  await check(writer.page, 'admin-propositions-boite');
  await Promise.all([
    writer.page.waitForURL(/\/admin\/rediger\?id=/),
    writer.page.getByRole('button', { name: 'Reprendre la sélection dans une campagne' }).click(),
  ]);
  await waitFor('the draft to load', async () => (await writer.page.getByLabel('Titre interne (jamais envoyé)').inputValue()) === 'Concert de Noël');
  await Promise.all([
    writer.page.waitForURL(/\/admin\/campagnes\/[0-9a-f-]+/),
    writer.page.getByRole('button', { name: 'Soumettre au cabinet' }).click(),
  ]);
  const campaignUrl = writer.page.url().replace(/\?.*$/, '');
  const taken = await waitForEmail(server.dataDir, 'culture@mairie.example', 1);
  assert.match(taken.subject, /a été retenue/);

  // The cabinet approves; the campaign goes out.
  const cabinet = await open(desktop);
  await signIn(cabinet.page, 'cabinet');
  await cabinet.page.goto(campaignUrl);
  await cabinet.page.getByRole('button', { name: 'Approuver et envoyer' }).click();
  await cabinet.page.getByRole('button', { name: 'Confirmer et envoyer' }).click();
  await cabinet.page.getByText("Campagne approuvée : l'envoi commence.").waitFor();
  await waitFor('the campaign to be sent', async () => {
    await writer.page.reload();
    await writer.page.locator('#campaign > dl.facts').waitFor();
    return (await writer.page.locator('#campaign > dl.facts .status').innerText()) === 'envoyée';
  }, 30_000);

  // The department sees it sent, with its figures, and is told by email.
  await culture.page.reload();
  await culture.page.getByRole('cell', { name: /^Envoyée le .* courriel\(s\), 0 SMS\.$/ }).waitFor();
  const sent = await waitForEmail(server.dataDir, 'culture@mairie.example', 2);
  assert.match(sent.subject, /a été envoyée aux abonnés/);
  for (const [ctx, who] of [
    [culture, 'service'],
    [writer, 'redaction'],
    [cabinet, 'cabinet'],
  ]) {
    assert.deepEqual(ctx.errors, [], `script errors in the ${who}'s pages`);
    await ctx.context.close();
  }
});

test('the front desk types a paper form in, with the place it was handed in, and nothing more', async () => {
  const { page, errors } = await open(desktop);
  await page.goto(`${server.base}/admin`);
  await page.getByLabel('Identifiant').fill('accueil');
  await page.getByLabel('Mot de passe').fill(STAFF_PASSWORD);
  // The front desk's page is the subscriber file.
  await Promise.all([page.waitForURL(`${server.base}/admin/abonnes`), page.getByRole('button', { name: 'Se connecter' }).click()]);
  await page.getByRole('heading', { name: 'Ajouter un formulaire papier' }).waitFor();
  assert.equal(await page.getByRole('link', { name: 'Rédiger' }).isVisible(), false);
  assert.equal(await page.getByRole('button', { name: 'Exporter (CSV)' }).isVisible(), false);
  assert.equal(await page.getByRole('heading', { name: 'Importer un fichier CSV' }).isVisible(), false);

  const form = page.locator('#paper');
  await form.getByLabel('Adresse e-mail').fill('guichet@exemple.fr');
  await form.getByLabel('Référence du formulaire (preuve du consentement)').fill('MQ-2026-7');
  await form.getByLabel('Alerte météo par e-mail').check();
  await form.getByRole('button', { name: 'Ajouter' }).click();
  // Without the place, the form says what is missing, next to the field.
  await page.getByText('Indiquez le lieu où le formulaire a été remis').first().waitFor();
  await form.getByLabel('Lieu de dépôt (mairie, maison de quartier…)').fill('Maison de quartier du Moulleau');
  await form.getByRole('button', { name: 'Ajouter' }).click();
  await page.getByText('Abonné ajouté : guichet@exemple.fr.').waitFor();
  // Its own entry can be corrected.
  const row = page.getByRole('row', { name: /guichet@exemple\.fr/ });
  await row.getByRole('button', { name: 'Modifier' }).waitFor();
  await check(page, 'front-desk');
  assert.deepEqual(errors, []);
});
