// The back office as staff live in it every day (issue #28), in Chromium against telmail-local:
// a campaign page that follows what others do, the cabinet approving from a phone knowing what
// leaves, the front desk typing forms (typos, overseas mobiles, old messages), the SMS composer,
// a file imported and exported as a spreadsheet user reads it, and every page at phone width.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { addStaff, axeViolations, emailsTo, launchBrowser, openContext, signInAt, smsTo, startServer, waitFor, waitForEmail, waitForSms } from './support.mjs';

const desktop = { viewport: { width: 1280, height: 900 } };
const phone = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };

let server;
let browser;

const pad = (n) => String(n).padStart(2, '0');
/** The hour in Paris now: the SMS window below is open around it, every day. */
const parisHour = Number(new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Paris', hour: '2-digit', hourCycle: 'h23' }).format(new Date()));
const smsWindow = `${pad(Math.max(0, parisHour - 1))}:00-${parisHour + 2 <= 23 ? `${pad(parisHour + 2)}:00` : '23:59'} 7j/7`;

before(async () => {
  // Emails leave 4 a second, as through a paced relay: a send of 16 takes 4 seconds.
  // A new sign-up code may be asked at once (the default makes the resident wait 5 minutes).
  // Non-urgent SMS go now whenever the test runs, and wait twelve hours later.
  server = await startServer({ staff: true, env: { TELMAIL_EMAIL_RATE: '4', TELMAIL_CODE_SMS_INTERVAL: '0', TELMAIL_SMS_WINDOW: smsWindow } });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** A fresh browser (no cookies) at a window size, with its script errors collected. */
const open = (size) => openContext(browser, size);

/** Signs a staff member in at /admin. */
const signIn = (page, username) => signInAt(page, server.base, username);

/** Adds a subscriber from a paper form as an administrator (Abonnés page already open). */
async function addPaper(page, { email, phone: number, reference, choices }) {
  const form = page.locator('#paper');
  if (email) await form.getByLabel('Adresse e-mail').fill(email);
  if (number) await form.getByLabel('Mobile').fill(number);
  await form.getByLabel('Référence du formulaire (preuve du consentement)').fill(reference);
  for (const label of choices) await form.getByLabel(label, { exact: true }).check();
  await form.getByRole('button', { name: 'Ajouter' }).click();
  await page.getByText(`Abonné ajouté : ${email || number}.`).waitFor();
}

/** The top of an element on the page, in CSS pixels. */
const top = async (locator) => (await locator.boundingBox()).y;

test('1-2. the campaign page follows the send, and the cabinet approves from a phone knowing what leaves', async () => {
  const admin = await open(desktop);
  await signIn(admin.page, 'admin');
  await admin.page.goto(`${server.base}/admin/abonnes`);
  const lines = Array.from({ length: 16 }, (_, i) => `lecteur${i + 1}@exemple.fr;Informations pratiques`);
  await admin.page.getByLabel('Fichier', { exact: true }).setInputFiles({ name: 'lecteurs.csv', mimeType: 'text/csv', buffer: Buffer.from(`email;themes\r\n${lines.join('\r\n')}\r\n`) });
  await admin.page.getByRole('button', { name: 'Vérifier le fichier' }).click();
  // The check is a file job beside the requests: on a busy machine it may take a while. If the
  // button never comes, the report says why.
  const commit = admin.page.getByRole('button', { name: 'Importer les 16 lignes', exact: true });
  await commit.waitFor({ timeout: 90_000 }).catch(async (e) => {
    throw new Error(`${e.message}\nrapport : ${await admin.page.locator('#import-report').innerText()}`);
  });
  await commit.click();
  await admin.page.getByText('16 abonné(s) importé(s) sur 16 ligne(s).').waitFor();

  // The writer composes a long email and submits it.
  const writer = await open(desktop);
  await signIn(writer.page, 'redac');
  await writer.page.goto(`${server.base}/admin/rediger`);
  await writer.page.getByLabel('Titre interne (jamais envoyé)').fill('Marché de Noël');
  await writer.page.getByLabel('Informations pratiques').check();
  await writer.page.getByLabel('Envoyer un SMS').uncheck();
  await writer.page.getByLabel('Objet').fill('Le marché de Noël ouvre samedi');
  const paragraphs = Array.from({ length: 12 }, (_, i) => `Paragraphe ${i + 1} : chalets, animations et illuminations place Thiers.`);
  await writer.page.getByLabel(/^Texte \(Markdown/).fill(paragraphs.join('\n\n'));
  await writer.page.getByRole('button', { name: 'Enregistrer le brouillon' }).click();
  await writer.page.getByText('Brouillon enregistré.').waitFor();
  await Promise.all([writer.page.waitForURL(/\/admin\/campagnes\/[0-9a-f-]+/), writer.page.getByRole('button', { name: 'Soumettre au cabinet' }).click()]);
  await writer.page.getByText('Campagne soumise au cabinet.').waitFor();
  // The notice is said once: the address no longer carries it, a reload does not repeat it.
  await waitFor('the address to lose ?soumise', async () => !writer.page.url().includes('soumise'));
  const campaignUrl = writer.page.url();
  await writer.page.reload();
  await writer.page.locator('#campaign > dl.facts .status').waitFor();
  assert.equal(await writer.page.getByText('Campagne soumise au cabinet.').count(), 0, 'the notice again after a reload');
  assert.equal(await writer.page.locator('#campaign > dl.facts .status').innerText(), 'soumise au cabinet');

  // The cabinet, on a phone: what subscribers receive first, the whole email, then the decision.
  const cabinet = await open(phone);
  await signIn(cabinet.page, 'cabinet');
  await cabinet.page.goto(campaignUrl);
  const approve = cabinet.page.getByRole('button', { name: 'Approuver et envoyer' });
  await approve.waitFor();
  const received = cabinet.page.getByRole('heading', { name: 'Ce que recevront les abonnés' });
  assert.ok((await top(received)) < (await top(approve)), 'the content comes before the decision');
  const frame = cabinet.page.locator('iframe.preview');
  await cabinet.page.frameLocator('iframe.preview').getByText('Paragraphe 12').waitFor();
  await waitFor('the email frame to fit its content', async () => {
    const [outer, inner] = await frame.evaluate((f) => [f.getBoundingClientRect().height, f.contentDocument.documentElement.scrollHeight]);
    return outer >= inner;
  });
  assert.deepEqual(await axeViolations(cabinet.page), [], 'axe on the decision page');

  // One tap does not send: the number of messages, the cost and when are confirmed first.
  await approve.click();
  const dialog = cabinet.page.getByRole('dialog', { name: "Confirmer l'envoi" });
  await dialog.waitFor();
  assert.match(await dialog.innerText(), /Envoyer 16 e-mails, \d+,\d\d\s€ HT, dès maintenant \?/);
  assert.equal(await cabinet.page.getByText("Campagne approuvée : l'envoi commence.").count(), 0, 'sent without confirmation');
  await dialog.getByRole('button', { name: 'Confirmer et envoyer' }).click();
  await cabinet.page.getByText("Campagne approuvée : l'envoi commence.").waitFor();

  // The writer's page, never reloaded, follows: approved, sending, then sent with its bar full;
  // the bar moves as the emails leave, not once at the end.
  const bar = writer.page.getByRole('progressbar', { name: /E-mails/ });
  const seen = new Set();
  await waitFor('the campaign to be sent', async () => {
    if (await bar.count()) seen.add(Number(await bar.getAttribute('value')));
    return (await writer.page.locator('#campaign > dl.facts .status').innerText()) === 'envoyée';
  }, 30_000);
  assert.equal(await bar.getAttribute('value'), '16');
  assert.ok([...seen].some((v) => v > 0 && v < 16), `the bar went ${[...seen].join(', ')} of 16`);
  assert.ok((await writer.page.locator('ol.trail').innerText()).includes('approuvée par'));

  for (const [ctx, who] of [[admin, 'admin'], [writer, 'redaction'], [cabinet, 'cabinet']]) {
    assert.deepEqual(ctx.errors, [], `script errors in the ${who}'s pages`);
    await ctx.context.close();
  }
});

test('3. a submitted campaign reaches the cabinet, the decision its author, new proposals show on the menu; each notice can be turned off', async () => {
  addStaff(server.dataDir, 'maire', 'cabinet', ['--email', 'maire@mairie.example', '--phone', '06 11 22 33 44']);
  addStaff(server.dataDir, 'plume', 'redaction', ['--email', 'plume@mairie.example', '--phone', '06 99 88 77 66']);

  // A department proposes: the communication service sees it on its menu and dashboard.
  const culture = await open(desktop);
  await signIn(culture.page, 'culture');
  await culture.page.getByLabel('Alerte météo', { exact: true }).check();
  await culture.page.getByLabel('Titre').fill('Fermeture du musée');
  await culture.page.getByLabel("Texte de l'information").fill('Le musée ferme lundi pour travaux.');
  await culture.page.getByLabel('Personne à contacter (nom, téléphone ou courriel)').fill('Claire, service culture');
  await culture.page.getByRole('button', { name: 'Envoyer la proposition' }).click();
  await culture.page.getByText('Proposition « Fermeture du musée » envoyée au service communication.').waitFor();
  const writer = await open(desktop);
  await signIn(writer.page, 'plume');
  const menu = writer.page.getByRole('link', { name: /^Propositions \(\d+ nouvelles? propositions?\)$/ });
  await menu.waitFor();
  await writer.page.getByRole('link', { name: /nouvelles? propositions? des services à traiter/ }).waitFor();

  // An urgent campaign submitted: every cabinet member with an address is emailed, by SMS too.
  await writer.page.goto(`${server.base}/admin/rediger`);
  await writer.page.getByLabel('Titre interne (jamais envoyé)').fill("Coupure d'eau");
  await writer.page.getByLabel('Informations pratiques').check();
  await writer.page.getByLabel('Texte du SMS').fill("Coupure d'eau demain de 8 h a 12 h.");
  await writer.page.getByLabel('Envoyer un e-mail').uncheck();
  await writer.page.getByLabel(/Urgent : envoyer les SMS/).check();
  await writer.page.getByRole('button', { name: 'Enregistrer le brouillon' }).click();
  await writer.page.getByText('Brouillon enregistré.').waitFor();
  // A test send (which saves the unchanged draft first) goes in the history, without the number.
  await writer.page.getByRole('button', { name: "M'envoyer un test" }).click();
  await writer.page.getByText('Test envoyé à +33699887766.').waitFor();
  await Promise.all([writer.page.waitForURL(/\/admin\/campagnes\/[0-9a-f-]+/), writer.page.getByRole('button', { name: 'Soumettre au cabinet' }).click()]);
  const campaignUrl = writer.page.url();
  const trail = writer.page.locator('ol.trail');
  await trail.getByText(/— envoi de test à plume \(SMS\)$/).waitFor();
  assert.doesNotMatch(await trail.innerText(), /modifiée|\+33|06 99/, 'saves that changed nothing, or the number, in the history');
  const asked = await waitForEmail(server.dataDir, 'maire@mairie.example');
  assert.equal(asked.subject, "[Télmail] À approuver : Coupure d'eau");
  assert.match(asked.text, /plume a soumis la campagne urgente « Coupure d'eau » au cabinet : un SMS\./);
  assert.match((await waitForSms(server.dataDir, '+33611223344')).text, /^Telmail : la campagne urgente « Coupure d'eau » attend votre approbation : http/);

  // The cabinet refuses with a reason: the author reads it in an email.
  const cabinet = await open(phone);
  await signIn(cabinet.page, 'maire');
  await cabinet.page.goto(campaignUrl);
  await cabinet.page.getByLabel("Motif du refus (l'auteur le verra)").fill('Précisez les rues concernées.');
  await cabinet.page.getByRole('button', { name: 'Refuser' }).click();
  await cabinet.page.getByText("Campagne refusée : l'auteur voit votre motif.").waitFor();
  const decided = await waitForEmail(server.dataDir, 'plume@mairie.example');
  assert.equal(decided.subject, "[Télmail] La campagne « Coupure d'eau » a été refusée par le cabinet");
  assert.match(decided.text, /Motif : « Précisez les rues concernées\. »/);
  // The writer's open page shows the refusal without a reload.
  await writer.page.locator('#campaign > dl.facts .status', { hasText: 'refusée' }).waitFor();

  // The cabinet member turns the urgent SMS off in « Mon compte », the writer the decision email.
  await cabinet.page.goto(`${server.base}/admin/compte`);
  await cabinet.page.getByLabel('SMS quand une campagne urgente est soumise au cabinet').uncheck();
  assert.ok(await cabinet.page.getByLabel('E-mail quand une campagne est soumise au cabinet').isChecked());
  await cabinet.page.getByRole('button', { name: 'Enregistrer mes avis' }).click();
  await cabinet.page.getByText('Avis enregistrés : 1 avis coupé(s).').waitFor();
  await writer.page.goto(`${server.base}/admin/compte`);
  await writer.page.getByLabel('E-mail quand le cabinet approuve ou refuse une de mes campagnes').uncheck();
  await writer.page.getByRole('button', { name: 'Enregistrer mes avis' }).click();
  await writer.page.getByText('Avis enregistrés : 1 avis coupé(s).').waitFor();
  // Corrected and submitted again: the cabinet is emailed, not texted; the writer is not told.
  const texted = smsTo(server.dataDir, '+33611223344').length;
  await writer.page.goto(`${campaignUrl.replace('/campagnes/', '/rediger?id=')}`);
  await writer.page.getByLabel('Texte du SMS').fill("Coupure d'eau demain de 8 h a 12 h, rues Thiers et Lamarque.");
  await Promise.all([writer.page.waitForURL(/\/admin\/campagnes\/[0-9a-f-]+/), writer.page.getByRole('button', { name: 'Soumettre au cabinet' }).click()]);
  await waitForEmail(server.dataDir, 'maire@mairie.example', 2);
  await cabinet.page.goto(campaignUrl);
  await cabinet.page.getByLabel("Motif du refus (l'auteur le verra)").fill('Ajoutez les horaires de reprise.');
  await cabinet.page.getByRole('button', { name: 'Refuser' }).click();
  await cabinet.page.getByText("Campagne refusée : l'auteur voit votre motif.").waitFor();
  assert.equal(smsTo(server.dataDir, '+33611223344').length, texted, 'an SMS the cabinet member turned off');
  assert.equal((await emailsTo(server.dataDir, 'plume@mairie.example')).length, 1, 'a decision email the writer turned off');

  for (const [ctx, who] of [[culture, 'service'], [writer, 'redaction'], [cabinet, 'cabinet']]) {
    assert.deepEqual(ctx.errors, [], `script errors in the ${who}'s pages`);
    await ctx.context.close();
  }
});

test('4. the front desk types a form in: a typo suggested, an overseas mobile read, a welcome sent, someone on file completed, old messages gone', async () => {
  const { context, page, errors } = await open(desktop);
  await signIn(page, 'accueil');
  assert.equal(new URL(page.url()).pathname, '/admin/abonnes');
  // It lands on the paper form; the file shows nothing before a search.
  const paperTitle = page.getByRole('heading', { name: 'Ajouter un formulaire papier' });
  assert.ok((await top(paperTitle)) < (await top(page.getByRole('search'))), 'the form comes first');
  assert.equal(await page.locator('#results table').count(), 0);

  const form = page.locator('#paper');
  await form.getByLabel('Adresse e-mail').fill('lea.payet@gmial.com');
  await page.getByText('Vouliez-vous dire lea.payet@gmail.com ?').waitFor();
  await form.getByRole('button', { name: 'Corriger en lea.payet@gmail.com' }).click();
  assert.equal(await form.getByLabel('Adresse e-mail').inputValue(), 'lea.payet@gmail.com');
  assert.equal(await page.getByText('Vouliez-vous dire').count(), 0);
  // « 06 39 50 61 72 » is a Mayotte mobile.
  await form.getByLabel('Mobile').fill('06 39 50 61 72');
  await form.getByLabel('Référence du formulaire (preuve du consentement)').fill('MY-2026-1');
  await form.getByLabel('Lieu de dépôt (mairie, maison de quartier…)').fill('Mairie');
  await form.getByLabel('Alerte météo par SMS').check();
  await form.getByRole('button', { name: 'Ajouter' }).click();
  await page.getByText('Abonné ajouté : lea.payet@gmail.com.').waitFor();
  const row = page.getByRole('row', { name: /lea\.payet@gmail\.com/ });
  await row.getByRole('cell', { name: '06 39 50 61 72', exact: true }).waitFor();
  await form.getByLabel('Mobile').fill('0690 12 34 56');
  await form.getByLabel('Référence du formulaire (preuve du consentement)').fill('GP-2026-1');
  await form.getByLabel('Lieu de dépôt (mairie, maison de quartier…)').fill('Mairie');
  await form.getByLabel('Alerte météo par SMS').check();
  await form.getByRole('button', { name: 'Ajouter' }).click();
  await page.getByText('Abonné ajouté : 06 90 12 34 56.').waitFor();

  // The resident hears from the town by each contact given: the link to their preferences.
  const welcome = await waitForEmail(server.dataDir, 'lea.payet@gmail.com');
  assert.equal(welcome.subject, "Bienvenue : vous recevrez les messages de la Ville d'Arcachon");
  assert.match(welcome.text, /Alerte météo\..*\/preferences\?t=/s);
  assert.match((await waitForSms(server.dataDir, '+262639506172')).text, /votre inscription aux messages de la Ville est enregistrée\. .*\/preferences\?t=/);

  // Another desk types a second form of the same resident: the entry on file is shown (its
  // number masked) and the form's topics are added to it; contacts are not the desk's to change.
  addStaff(server.dataDir, 'guichet2', 'accueil');
  const other = await open(desktop);
  await signIn(other.page, 'guichet2');
  const second = other.page.locator('#paper');
  await second.getByLabel('Adresse e-mail').fill('lea.payet@gmail.com');
  await second.getByLabel('Référence du formulaire (preuve du consentement)').fill('MY-2026-2');
  await second.getByLabel('Lieu de dépôt (mairie, maison de quartier…)').fill('Maison de quartier');
  await second.getByLabel('Informations pratiques par e-mail').check();
  await second.getByRole('button', { name: 'Ajouter' }).click();
  const owner = other.page.locator('#paper-owner');
  await owner.getByRole('heading', { name: 'Déjà inscrit' }).waitFor();
  assert.match(await owner.innerText(), /lea\.payet@gmail\.com · \+262 •• •• •• 72 — Alerte météo \(SMS\)/);
  await owner.getByRole('button', { name: 'Ajouter ces thèmes à son inscription' }).click();
  await other.page.getByText("Thèmes ajoutés à l'inscription de lea.payet@gmail.com.").waitFor();
  await second.getByLabel('Adresse e-mail').fill('lea.payet@gmail.com');
  await second.getByLabel('Mobile').fill('06 12 34 56 78');
  await second.getByLabel('Référence du formulaire (preuve du consentement)').fill('MY-2026-3');
  await second.getByLabel('Lieu de dépôt (mairie, maison de quartier…)').fill('Mairie');
  await second.getByLabel('Culture/Animations par e-mail').check();
  await second.getByRole('button', { name: 'Ajouter' }).click();
  await owner.getByRole('button', { name: 'Ajouter ces thèmes à son inscription' }).click();
  await second.getByText(/seul le service communication \(rôle Rédaction\) peut changer des coordonnées/).first().waitFor();
  await other.page.getByRole('searchbox').fill('lea.payet@gmail.com');
  await other.page.getByRole('button', { name: 'Rechercher' }).click();
  await other.page.getByRole('cell', { name: /^(Alerte météo \(SMS\) ; Informations pratiques \(e-mail\)|Informations pratiques \(e-mail\) ; Alerte météo \(SMS\))$/ }).waitFor();
  assert.deepEqual(other.errors, []);
  await other.context.close();

  // A new error takes the old success message away.
  await form.getByLabel('Adresse e-mail').fill('pas-une-adresse');
  await form.getByLabel('Référence du formulaire (preuve du consentement)').fill('X-1');
  await form.getByLabel('Lieu de dépôt (mairie, maison de quartier…)').fill('Mairie');
  await form.getByRole('button', { name: 'Ajouter' }).click();
  await form.locator('.field-error').first().waitFor();
  assert.equal(await page.getByText(/^Abonné ajouté/).count(), 0, 'the old success message beside the error');
  assert.deepEqual(errors, []);
  await context.close();
});

test('5. the SMS composer fixes every character at once, says what it saves, estimates as it is typed, and keeps unsaved work', async () => {
  const { context, page, errors } = await open(desktop);
  await signIn(page, 'redac');
  await page.goto(`${server.base}/admin/abonnes`);
  await addPaper(page, { phone: '07 81 23 45 05', reference: 'S-5', choices: ['Culture/Animations par SMS'] });
  await page.goto(`${server.base}/admin/rediger`);
  // Disabled buttons say why.
  const testButton = page.getByRole('button', { name: "M'envoyer un test" });
  assert.ok(await testButton.isDisabled());
  const why = await testButton.evaluate((b) => document.getElementById(b.getAttribute('aria-describedby'))?.textContent);
  assert.match(why, /^Enregistrez le brouillon pour l'envoyer en test/);
  assert.ok(await page.locator('#why-disabled').isVisible());

  await page.getByLabel('Titre interne (jamais envoyé)').fill('Théâtre');
  await page.getByLabel('Culture/Animations').check();
  const sms = page.getByLabel('Texte du SMS');
  await sms.click();
  await sms.fill('Théâtre Olympia : la fête de fin d’année est samedi à 20 h, entrée libre, venez nombreux !');
  await page.getByRole('button', { name: 'Tout remplacer' }).waitFor();
  await page.getByText(/^2 SMS → 1 SMS, −\d+,\d\d\s€ par destinataire\.$/).waitFor();
  await page.getByText(/changent l'orthographe.*Théâtre → Théatre/).waitFor();
  // The estimate follows the typing, before any save: recipients × SMS each.
  const estimate = async () => {
    const text = await page.locator('#estimate').innerText();
    const n = (label) => Number((text.match(new RegExp(`${label}\\s+([\\d\\s\u202f]+)`)) || [])[1]?.replace(/\D/g, '') ?? NaN);
    return { sms: n('Destinataires par SMS'), billed: n('SMS facturés \\(un long SMS compte pour plusieurs\\)') };
  };
  await waitFor('a live estimate of 2 SMS each', async () => {
    const e = await estimate();
    return e.sms >= 1 && e.billed === 2 * e.sms;
  });
  assert.equal(await page.getByText('Calcul en cours…').count(), 0);
  await page.getByRole('button', { name: 'Tout remplacer' }).click();
  await waitFor('the counter to say GSM-7', async () => (await page.locator('#sms-counter').innerText()).includes('1 SMS (GSM-7)'));
  await waitFor('the live estimate to follow the fix', async () => {
    const e = await estimate();
    return e.sms >= 1 && e.billed === e.sms;
  });
  assert.equal(await sms.inputValue(), "Théatre Olympia : la fete de fin d'année est samedi à 20 h, entrée libre, venez nombreux !");
  assert.equal(await page.getByRole('button', { name: 'Tout remplacer' }).count(), 0);

  // Leaving with unsaved changes asks first.
  let asked = null;
  page.once('dialog', (d) => {
    asked = d.type();
    d.dismiss();
  });
  await page.close({ runBeforeUnload: true });
  await waitFor('the page to ask before leaving', async () => asked === 'beforeunload');
  assert.equal(page.isClosed(), false);

  // « Les SMS non urgents attendent » only when they would: outside the window (twelve hours
  // from now), not inside it (now, a week later). The field is read in the town's time (Paris),
  // whatever the time zone of the machine running the test.
  const local = (d) => {
    const part = Object.fromEntries(
      new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Paris', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
        .formatToParts(d)
        .map((p) => [p.type, p.value]),
    );
    return `${part.year}-${part.month}-${part.day}T${part.hour}:${part.minute}`;
  };
  const inside = new Date(Date.now() + 8 * 86_400_000);
  const outside = new Date(inside.getTime() + 12 * 3_600_000);
  await page.getByLabel('Objet').fill('Théâtre');
  await page.getByLabel(/^Texte \(Markdown/).fill('Entrée libre.');
  await page.getByLabel(/^Envoi programmé/).fill(local(outside));
  await page.getByRole('button', { name: 'Enregistrer le brouillon' }).click();
  await page.getByText("Hors des heures d'envoi : les SMS non urgents attendront l'ouverture.").waitFor();
  assert.ok(await testButton.isEnabled());
  assert.ok(await page.locator('#why-disabled').isHidden());
  await page.getByLabel(/^Envoi programmé/).fill(local(inside));
  const clearFlash = () => page.evaluate(() => document.querySelector('#flash').replaceChildren());
  await clearFlash();
  await page.getByRole('button', { name: 'Enregistrer le brouillon' }).click();
  await page.locator('#estimate dl').waitFor();
  await waitFor('the estimate to drop the waiting notice', async () => (await page.getByText("Hors des heures d'envoi : les SMS non urgents attendront l'ouverture.").count()) === 0);
  // Saved again unchanged: the history records no « modifiée » for it.
  await page.getByText('Brouillon enregistré.').waitFor();
  await clearFlash();
  await page.getByRole('button', { name: 'Enregistrer le brouillon' }).click();
  await page.getByText('Brouillon enregistré.').waitFor();
  const id = new URL(page.url()).searchParams.get('id');
  const view = await (await page.request.get(`${server.base}/api/admin/campaigns/${id}`)).json();
  assert.deepEqual(view.events.map((e) => e.action), ['created', 'edited']);
  // Saved: leaving asks nothing.
  page.once('dialog', (d) => {
    asked = `again: ${d.type()}`;
    d.dismiss();
  });
  await page.close({ runBeforeUnload: true });
  await waitFor('the page to close', async () => page.isClosed());
  assert.equal(asked, 'beforeunload');
  assert.deepEqual(errors, []);
  await context.close();
});

test('5b. the composer writes and keeps a spoken text and the zones a campaign is limited to', async () => {
  // An administrator defines a zone of the town.
  const admin = await open(desktop);
  await signIn(admin.page, 'admin');
  const api = (page, method, path, body) => page.evaluate(
    async ([m, p, b]) => (await import('/static/admin/api.js')).api(m, p, b),
    [method, path, body],
  );
  await api(admin.page, 'POST', '/api/admin/zones', { name: 'Front de mer', description: 'Le boulevard de la plage et ses rues.', streets: ['Boulevard de la Plage'] });
  await admin.context.close();

  const { context, page, errors } = await open(desktop);
  await signIn(page, 'redac');
  await page.goto(`${server.base}/admin/rediger`);
  await page.getByLabel('Titre interne (jamais envoyé)').fill('Submersion');
  await page.getByLabel('Alerte météo').check();
  await page.getByLabel('Texte du SMS').fill('Ville d Arcachon : risque de submersion ce soir sur le front de mer.');
  await page.getByLabel('Envoyer un e-mail').uncheck();
  await page.getByLabel('Appeler les abonnés qui ont choisi les appels (fixes compris)').check();
  const spoken = "Ici la Ville d'Arcachon. Risque de submersion ce soir sur le front de mer. Je répète : risque de submersion ce soir sur le front de mer.";
  await page.getByLabel(/^Texte lu au téléphone/).fill(spoken);
  await page.getByLabel('Front de mer').check();
  // The live estimate weighs the call and the zone before anything is saved.
  const estimate = page.locator('#estimate');
  await estimate.getByText('Appels vocaux').waitFor();
  await estimate.getByText(/^Limité aux zones choisies : \d+ destinataire\(s\) qui n'ont indiqué aucune zone ne le recevront pas\.$/).waitFor();
  await page.getByRole('button', { name: 'Enregistrer le brouillon' }).click();
  await page.getByText('Brouillon enregistré.').waitFor();
  // Read again, then saved again with another title: the spoken text and the zone are kept.
  await page.reload();
  await page.getByLabel('Front de mer').waitFor();
  assert.equal(await page.getByLabel(/^Texte lu au téléphone/).inputValue(), spoken);
  assert.ok(await page.getByLabel('Front de mer').isChecked());
  await page.getByLabel('Titre interne (jamais envoyé)').fill('Submersion, front de mer');
  await page.getByRole('button', { name: 'Enregistrer le brouillon' }).click();
  await page.getByText('Brouillon enregistré.').waitFor();
  const id = new URL(page.url()).searchParams.get('id');
  const saved = await api(page, 'GET', `/api/admin/campaigns/${id}`);
  assert.deepEqual([saved.title, saved.voice?.text, saved.zones, saved.include_unzoned], ['Submersion, front de mer', spoken, ['front-de-mer'], false]);
  assert.deepEqual(errors, []);
  await context.close();
});

test('6. a spreadsheet file: valid lines imported from the report, people on file updated, the export sorted and opened as Excel and LibreOffice open it', async () => {
  const { context, page, errors } = await open(desktop);
  await signIn(page, 'admin');
  await page.goto(`${server.base}/admin/abonnes`);
  await page.getByText(/Excel.*Windows-1252/).waitFor();
  await addPaper(page, { email: 'zoe.papier@exemple.fr', phone: '06 22 33 44 55', reference: 'P-7', choices: ['Informations pratiques par e-mail', 'Informations pratiques par SMS'] });

  // Excel's CSV: Windows-1252, `;`, French headers; one line in error, default mode.
  const csv = 'Courriel;Téléphone;Thèmes;Référence\r\nalice.import@exemple.fr;07 81 23 45 67;Alerte météo;I-1\r\npas-une-adresse;;Alerte météo;I-2\r\n';
  await page.getByLabel('Fichier', { exact: true }).setInputFiles({ name: 'excel.csv', mimeType: 'text/csv', buffer: Buffer.from(csv, 'latin1') });
  assert.equal(await page.getByLabel('Si des lignes sont invalides').inputValue(), 'all_or_nothing');
  await page.getByRole('button', { name: 'Vérifier le fichier' }).click();
  await page.getByText(/1 valide\(s\), 1 en erreur\. Rien n'a encore été importé\. Corrigez le fichier, ou importez les lignes valides\./).waitFor();
  await page.getByRole('button', { name: 'Importer la ligne valide', exact: true }).click();
  await page.getByText('1 abonné(s) importé(s) sur 2 ligne(s).').waitFor();

  // Update mode: people already on file get the file's topics, line by line; nothing removed.
  const update = 'email;themes\r\nzoe.papier@exemple.fr;Culture/Animations\r\nalice.import@exemple.fr;Alerte météo\r\n';
  await page.getByLabel('Fichier', { exact: true }).setInputFiles({ name: 'maj.csv', mimeType: 'text/csv', buffer: Buffer.from(update) });
  await page.getByLabel(/Personnes déjà inscrites : ajouter les thèmes du fichier/).check();
  await page.getByRole('button', { name: 'Vérifier le fichier' }).click();
  const report = page.locator('#import-report');
  await report.getByText('1 personne(s) déjà inscrite(s) recevront de nouveaux thèmes.', { exact: false }).waitFor();
  await report.getByRole('cell', { name: 'Déjà inscrit : thèmes à ajouter : Culture/Animations (e-mail).' }).waitFor();
  await page.getByRole('button', { name: 'Importer les 2 lignes', exact: true }).click();
  await report.getByRole('cell', { name: 'Déjà inscrit : thèmes ajoutés : Culture/Animations (e-mail).' }).waitFor();
  await report.getByRole('cell', { name: 'Déjà inscrit à ces thèmes : rien à ajouter.' }).waitFor();

  // The export sorted by contact, as chosen (by sign-up date unless said).
  assert.equal(await page.getByLabel("Ordre de l'export").inputValue(), 'date');
  await page.getByLabel("Ordre de l'export").selectOption('contact');
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Exporter (CSV)' }).click()]);
  await page.getByText(/Export prêt : \d+ abonné\(s\)\. Le téléchargement commence\. Lignes par adresse e-mail ou numéro\./).waitFor();
  const path = await download.path();
  // Read as Excel reads a `;` CSV with a byte-order mark (Python's csv module, dialect excel).
  const read = spawnSync(
    'python3',
    ['-c', 'import csv,json,sys; print(json.dumps(list(csv.DictReader(open(sys.argv[1], encoding="utf-8-sig", newline=""), dialect="excel", delimiter=";"))))', path],
    { encoding: 'utf8' },
  );
  assert.equal(read.status, 0, read.stderr);
  const rows = JSON.parse(read.stdout);
  const zoe = rows.find((r) => r.email === 'zoe.papier@exemple.fr');
  const alice = rows.find((r) => r.email === 'alice.import@exemple.fr');
  assert.equal(zoe.telephone, '06 22 33 44 55');
  assert.equal(zoe.inscriptions, 'Culture/Animations : e-mail | Informations pratiques : e-mail, SMS');
  assert.equal(zoe.telephone, '06 22 33 44 55', 'a contact the update left as it was');
  const contacts = rows.map((r) => r.email);
  const withEmail = contacts.filter(Boolean);
  assert.deepEqual(withEmail, [...withEmail].sort(), 'rows by email address');
  assert.deepEqual(contacts.slice(0, withEmail.length), withEmail, 'phone-only rows last');
  assert.equal(zoe.source, 'papier');
  assert.equal(alice.telephone, '07 81 23 45 67');
  assert.equal(alice.source, 'import');
  assert.equal(alice.inscriptions, 'Alerte météo : e-mail, SMS');
  for (const r of rows) assert.ok(!r.telephone.startsWith("'"), `a visible apostrophe in ${r.telephone}`);

  // Opened in LibreOffice Calc (`;`, UTF-8) and saved as a page: what a person sees in the cells.
  const shown = calcCells(path);
  const header = shown[0];
  const cell = (row, name) => row[header.indexOf(name)];
  const zoeRow = shown.find((r) => r.includes('zoe.papier@exemple.fr'));
  const aliceRow = shown.find((r) => r.includes('alice.import@exemple.fr'));
  assert.equal(cell(zoeRow, 'telephone'), '06 22 33 44 55');
  assert.equal(cell(zoeRow, 'inscriptions'), 'Culture/Animations : e-mail | Informations pratiques : e-mail, SMS');
  assert.equal(cell(aliceRow, 'inscriptions'), 'Alerte météo : e-mail, SMS');
  assert.equal(cell(aliceRow, 'source'), 'import');
  for (const row of shown.slice(1)) {
    for (const c of row) assert.ok(!/^['=+@-]/.test(c), `a cell shows a formula guard or a formula: « ${c} »`);
  }
  assert.deepEqual(errors, []);
  await context.close();
});

/** The cells of a `;` UTF-8 CSV as LibreOffice Calc shows them: opened headless, saved as HTML. */
function calcCells(download) {
  const out = mkdtempSync(join(tmpdir(), 'telmail-calc-'));
  // The file as the browser saved it (named by the download's id): a person's `.csv`.
  const csv = join(out, 'abonnes.csv');
  copyFileSync(download, csv);
  const converted = spawnSync(
    'soffice',
    [`-env:UserInstallation=file://${out}/profile`, '--headless', '--infilter=CSV:59,34,76,1', '--convert-to', 'html', '--outdir', out, csv],
    { encoding: 'utf8', timeout: 120_000 },
  );
  assert.equal(converted.status, 0, `soffice (bash scripts/browser-tests.sh install puts it in): ${converted.stderr}`);
  const html = readFileSync(join(out, 'abonnes.html'), 'utf8');
  const text = (s) => s.replace(/<[^>]*>/g, '').replace(/&nbsp;/g, ' ').replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").trim();
  return [...html.matchAll(/<tr[^>]*>([\s\S]*?)<\/tr>/g)].map((tr) => [...tr[1].matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((td) => text(td[1])));
}

test('7. every back-office page fits a phone, says roles, phones and states in words, and a department reads what was sent', async () => {
  const { context, page, errors } = await open(phone);
  // Signed out, the page logs nothing to the console (no 401 asked for).
  const logged = [];
  page.on('console', (m) => m.type() === 'error' && logged.push(m.text()));
  await page.goto(`${server.base}/admin/campagnes`);
  await page.getByLabel('Identifiant').waitFor();
  await page.waitForLoadState('networkidle');
  assert.deepEqual(logged, [], 'console errors on the signed-out page');
  await signIn(page, 'admin');
  assert.match(await page.locator('#who').innerText(), /admin \(Administration\)/);
  const favicon = await page.request.get(`${server.base}/favicon.ico`);
  assert.equal(favicon.status(), 200);
  for (const [who, paths] of [
    ['admin', ['/admin', '/admin/abonnes', '/admin/campagnes', '/admin/propositions', '/admin/thematiques', '/admin/suppressions', '/admin/meteo']],
    ['redac', ['/admin/rediger', '/admin/propositions', '/admin/campagnes', '/admin/compte']],
  ]) {
    if (who !== 'admin') {
      await context.clearCookies();
      await signIn(page, who);
    }
    for (const path of paths) {
      await page.goto(`${server.base}${path}`);
      await page.waitForLoadState('networkidle');
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= 390, `${path} lays out ${width} px wide at 390 px`);
      if (path === '/admin') {
        // Months read « déc. 2026 », not 2026-12 (this month has sends when the earlier steps ran).
        await page.locator('#figures .card').first().waitFor();
        const month = new Date().toLocaleDateString('fr-FR', { month: 'short', year: 'numeric', timeZone: 'Europe/Paris' });
        if ((await page.locator('#months-chart').innerText()).trim()) await page.locator('#months-chart').getByText(month).first().waitFor();
        assert.doesNotMatch(await page.locator('#dashboard').innerText(), /\b20\d\d-\d\d\b/);
      }
    }
  }
  // The communication service takes the museum's proposal (step 3) and the cabinet approves it.
  const taken = await page.evaluate(async () => {
    const { api } = await import('/static/admin/api.js');
    const p = (await api('GET', '/api/admin/proposals')).find((x) => x.title === 'Fermeture du musée');
    const c = await api('POST', '/api/admin/proposals/take', { ids: [p.id] });
    return (await api('POST', `/api/admin/campaigns/${c.id}/submit`)).id;
  });
  await context.clearCookies();
  await signIn(page, 'cabinet');
  await page.evaluate(async (id) => {
    const { api } = await import('/static/admin/api.js');
    const c = await api('GET', `/api/admin/campaigns/${id}`);
    await api('POST', `/api/admin/campaigns/${id}/approve`, { version: c.version });
  }, taken);
  // A department member is told in French where to look, never « Chargement… » forever…
  await context.clearCookies();
  await signIn(page, 'culture');
  await page.goto(`${server.base}/admin/campagnes`);
  await page.getByText(/Ce qui a été envoyé pour vos propositions se lit sur la page Propositions/).waitFor();
  assert.equal(await page.getByText('Chargement…').count(), 0);
  // …and reads there the email as residents received it, once sent.
  await waitFor('the proposal to be sent', async () => {
    await page.goto(`${server.base}/admin/propositions`);
    const button = page.getByRole('button', { name: 'Voir ce qui a été envoyé pour « Fermeture du musée »' });
    await page.locator('#mine table, #mine p').first().waitFor();
    return (await button.count()) === 1;
  });
  await page.getByRole('button', { name: 'Voir ce qui a été envoyé pour « Fermeture du musée »' }).click();
  await page.getByRole('heading', { name: 'Ce qui a été envoyé pour « Fermeture du musée »' }).waitFor();
  assert.equal(await page.locator('#sent').getByText('Pas de SMS.').count(), 1);
  const sentEmail = page.frameLocator('#sent iframe');
  await sentEmail.getByText('Le musée ferme lundi pour travaux.').waitFor();
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 390, `/admin/propositions with the sent email lays out ${width} px wide at 390 px`);
  assert.deepEqual(errors, []);
  await context.close();
});

test('7. a resident on a phone asks for a new code when the first is lost', async () => {
  const { context, page, errors } = await open(phone);
  await page.goto(`${server.base}/inscription`);
  await page.getByLabel('Numéro de mobile', { exact: true }).fill('06 44 55 66 77');
  await page.getByLabel('Alerte météo par sms', { exact: true }).check();
  await page.getByRole('checkbox', { name: /^J'accepte que la Ville/ }).check();
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: "Je m'inscris" }).click()]);
  const first = (await waitForSms(server.dataDir, '+33644556677')).text.match(/\b(\d{6})\b/)[1];
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Renvoyer le code' }).click()]);
  await page.getByRole('status').getByText('Un nouveau code vient de vous être envoyé par SMS').waitFor();
  assert.deepEqual(await axeViolations(page), [], 'axe on the code page');
  const codes = await waitFor('a second code', async () => {
    const all = smsTo(server.dataDir, '+33644556677');
    return all.length === 2 ? all.map((m) => m.text.match(/\b(\d{6})\b/)[1]) : null;
  });
  assert.equal(codes[0], first);
  await page.getByLabel('Code reçu par SMS').fill(codes[1]);
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Valider' }).click()]);
  await page.getByRole('heading', { level: 1, name: 'Inscription confirmée' }).waitFor();
  assert.deepEqual(errors, []);
  await context.close();
});
