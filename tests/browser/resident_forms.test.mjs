// Resident journeys as a person makes them: in Chromium, typing, ticking and pressing the buttons
// of the real pages served by telmail-local, following the links of the emails in the outbox and
// typing the codes of the SMS. Every step is submitted and its answer checked, at desktop and at
// phone width.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';

import {
  axeViolations,
  emailsTo,
  headerOf,
  launchBrowser,
  smsTo,
  staffApiAt,
  startServer,
  viewports,
  waitFor,
  waitForEmail,
  waitForSms,
} from './support.mjs';

let server;
let browser;

before(async () => {
  server = await startServer({ staff: true });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** A page in a fresh browser context (no cookies) at the given window size. */
async function openPage(viewport) {
  // CSP bypassed only so that axe-core can be injected into the pages.
  const context = await browser.newContext({ ...viewport.options, locale: 'fr-FR', acceptDownloads: true, bypassCSP: true });
  const page = await context.newPage();
  return { context, page };
}

/** Asserts the page's main heading, and that axe-core finds no WCAG 2.1 A/AA violation on it. */
async function expectHeading(page, text) {
  assert.equal((await page.locator('h1').innerText()).trim(), text);
  assert.deepEqual(await axeViolations(page), [], `axe on « ${text} » (${page.url()})`);
}

/** Fills the sign-up form at /inscription and presses « Je m'inscris ». */
async function signUp(page, { email, phone, choices, consent = true }) {
  const answer = await page.goto(`${server.base}/inscription`);
  assert.equal(answer.status(), 200);
  if (email) await page.getByLabel('Adresse e-mail', { exact: true }).fill(email);
  if (phone) await page.getByLabel('Numéro de mobile', { exact: true }).fill(phone);
  for (const label of choices) await page.getByLabel(label, { exact: true }).check();
  if (consent) await page.getByRole('checkbox', { name: /^J'accepte que la Ville/ }).check();
  const [response] = await Promise.all([
    page.waitForNavigation(),
    page.getByRole('button', { name: "Je m'inscris" }).click(),
  ]);
  return response;
}

/** Signs up by email and follows the confirmation link of the email, as its owner does. */
async function signUpAndConfirmByEmail(page, email, choices) {
  const answer = await signUp(page, { email, choices });
  assert.equal(answer.status(), 200);
  await expectHeading(page, 'Vérifiez votre messagerie');

  const mail = await waitForEmail(server.dataDir, email);
  assert.match(mail.subject, /Confirmez/i);
  // The resident opens the email and clicks its button.
  await page.setContent(mail.html);
  await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: /Confirmer/i }).first().click()]);
  assert.ok(page.url().startsWith(`${server.base}/confirmation?t=`), page.url());
  await expectHeading(page, 'Confirmer mon inscription');
  const confirmed = await submit(page, 'Confirmer mon inscription');
  assert.equal(confirmed.status(), 200);
  await expectHeading(page, 'Inscription confirmée');
}

/** Presses a submit button and returns the answer to the post. */
async function submit(page, name) {
  const [response] = await Promise.all([
    page.waitForNavigation(),
    page.getByRole('button', { name, exact: true }).click(),
  ]);
  return response;
}

/** Logs a staff member in on the JSON API and returns a caller. */
const staffApi = (username) => staffApiAt(server.base, username);

for (const viewport of viewports) {
  const key = viewport.name === 'ordinateur' ? 'pc' : 'mobile';

  describe(`resident forms (${viewport.name})`, () => {
    test('sign up by email, confirm from the email, manage, download, leave and erase', async () => {
      const email = `marie.${key}@exemple.fr`;
      const { context, page } = await openPage(viewport);
      await signUpAndConfirmByEmail(page, email, ['Culture/Animations par email']);

      // Manage: the confirmation page links to the preferences.
      await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'Gérer mes abonnements' }).click()]);
      await expectHeading(page, 'Mes abonnements');
      assert.ok(await page.getByLabel('Culture/Animations par email', { exact: true }).isChecked());
      await page.getByLabel('Informations pratiques par email', { exact: true }).check();
      let answer = await submit(page, 'Enregistrer mes choix');
      assert.equal(answer.status(), 200);
      await assert.doesNotReject(page.getByRole('status').getByText('Vos choix sont enregistrés.').waitFor());
      assert.ok(await page.getByLabel('Informations pratiques par email', { exact: true }).isChecked());
      // SMS boxes are disabled: no number was given.
      assert.ok(await page.getByLabel('Culture/Animations par sms', { exact: true }).isDisabled());

      // Download my data.
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('link', { name: 'Télécharger mes données' }).click(),
      ]);
      assert.equal(download.suggestedFilename(), 'mes-donnees-telmail.json');
      const data = JSON.parse(readFileSync(await download.path(), 'utf8'));
      assert.ok(JSON.stringify(data).includes(email), 'the export holds the address');
      assert.ok(JSON.stringify(data).includes('infos-pratiques'), 'the export holds the saved choice');

      // Leave one topic.
      answer = await submit(page, 'Ne plus recevoir « Culture/Animations »');
      assert.equal(answer.status(), 200);
      await expectHeading(page, 'Mes abonnements');
      // The page says which topic was left, and that the others stay.
      await page.getByRole('status').getByText('Vous ne recevrez plus les messages « Culture/Animations ». Vos autres abonnements restent inchangés.').waitFor();
      // The data download is explained in words; every button is a 44 px target at least.
      await page.getByText(/tout ce que la Ville garde sur vous/).waitFor();
      const small = await page.evaluate(() =>
        [...document.querySelectorAll('main button, main a.button, main input[type=checkbox]:not([disabled])')]
          .map((b) => b.getBoundingClientRect())
          .filter((r) => r.width && (r.height < 44 || r.width < 44)).length,
      );
      assert.equal(small, 0, `${small} tap target(s) under 44 px`);
      assert.equal(await page.getByLabel('Culture/Animations par email', { exact: true }).isChecked(), false);
      assert.ok(await page.getByLabel('Informations pratiques par email', { exact: true }).isChecked());

      // Leave everything, then come back to the preferences from the page's link.
      answer = await submit(page, 'Me désabonner de tout');
      assert.equal(answer.status(), 200);
      await expectHeading(page, 'Vous êtes désabonné(e)');
      await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'Me réabonner' }).click()]);
      await expectHeading(page, 'Mes abonnements');
      await assert.doesNotReject(page.getByText('désabonné(e)').first().waitFor());

      // Erase: the box must be ticked, and the error says so next to it.
      answer = await submit(page, 'Effacer mes données');
      assert.equal(answer.status(), 422);
      await assert.doesNotReject(
        page.getByRole('alert').getByText("Cochez la case pour confirmer l'effacement de vos données.").waitFor(),
      );
      await page.getByLabel('Je veux que toutes mes données soient définitivement effacées.').check();
      answer = await submit(page, 'Effacer mes données');
      assert.equal(answer.status(), 200);
      await expectHeading(page, 'Vos données ont été effacées');

      // The old link now leads nowhere.
      const manage = await page.goto(new URL(page.url()).origin + '/preferences?t=x');
      assert.equal(manage.status(), 400);
      await context.close();
    });

    test('sign up by phone and type the code received by SMS', async () => {
      const local = key === 'pc' ? '06 12 34 56 01' : '06 12 34 56 02';
      const e164 = key === 'pc' ? '+33612345601' : '+33612345602';
      const { context, page } = await openPage(viewport);
      const answer = await signUp(page, { phone: local, choices: ['Alerte météo par sms'] });
      assert.equal(answer.status(), 200);
      assert.ok(page.url().startsWith(`${server.base}/inscription/code?t=`), page.url());
      await expectHeading(page, 'Saisir le code reçu par SMS');

      const sms = await waitForSms(server.dataDir, e164);
      const code = sms.text.match(/\b(\d{6})\b/)[1];
      const wrong = code === '000000' ? '111111' : '000000';

      await page.getByLabel('Code reçu par SMS').fill(wrong);
      let posted = await submit(page, 'Valider');
      assert.equal(posted.status(), 422);
      await expectHeading(page, 'Saisir le code reçu par SMS');
      assert.equal(await page.getByLabel('Code reçu par SMS').getAttribute('aria-invalid'), 'true');
      await assert.doesNotReject(page.getByRole('alert').waitFor());

      await page.getByLabel('Code reçu par SMS').fill(code);
      posted = await submit(page, 'Valider');
      assert.equal(posted.status(), 200);
      await expectHeading(page, 'Inscription confirmée');
      assert.equal(smsTo(server.dataDir, e164).length, 1, 'only the code was sent');
      await context.close();
    });

    test('a sign-up with mistakes is shown again with the errors in French', async () => {
      const { context, page } = await openPage(viewport);
      const answer = await signUp(page, { email: 'pas-une-adresse', choices: [], consent: false });
      assert.equal(answer.status(), 422);
      await expectHeading(page, "S'inscrire aux messages de la Ville");
      assert.equal(await page.getByLabel('Adresse e-mail', { exact: true }).inputValue(), 'pas-une-adresse');
      assert.equal(await page.getByLabel('Adresse e-mail', { exact: true }).getAttribute('aria-invalid'), 'true');
      const alert = await page.getByRole('alert').innerText();
      assert.match(alert, /Merci de corriger/);
      assert.match(alert, /e-mail/i);
      assert.match(alert, /thème/i);
      await context.close();
    });

    test('the unsubscribe link of a message received stops everything', async () => {
      const email = `jean.${key}@exemple.fr`;
      const { context, page } = await openPage(viewport);
      await signUpAndConfirmByEmail(page, email, ['Informations pratiques par email']);

      // The communication service writes a message, the mayor's office approves it.
      const redac = await staffApi('redac');
      const cabinet = await staffApi('cabinet');
      const title = `Inscriptions scolaires (${key})`;
      const created = await redac('POST', '/api/admin/campaigns', {
        title,
        topics: ['infos-pratiques'],
        sms: null,
        email: { subject: title, body_markdown: 'Les inscriptions scolaires ouvrent **lundi**.' },
        urgent: false,
        send_at: null,
      });
      const submitted = await redac('POST', `/api/admin/campaigns/${created.id}/submit`);
      await cabinet('POST', `/api/admin/campaigns/${created.id}/approve`, { version: submitted.version });
      const message = await waitFor('the message to be sent', async () => {
        const found = (await emailsTo(server.dataDir, email)).filter((m) => m.subject === title);
        return found[0];
      });

      // The mail client's « Se désabonner » opens the List-Unsubscribe address.
      const listUnsubscribe = headerOf(message, 'List-Unsubscribe');
      const link = listUnsubscribe.match(/<(http[^>]+)>/)[1];
      const shown = await page.goto(link);
      assert.equal(shown.status(), 200);
      await expectHeading(page, 'Me désabonner');
      const answer = await submit(page, 'Confirmer mon désabonnement');
      assert.equal(answer.status(), 200);
      await expectHeading(page, 'Vous êtes désabonné(e)');
      // Coming back to the link says so instead of offering the button again.
      await page.goto(link);
      await expectHeading(page, 'Vous êtes désabonné(e)');
      await context.close();
    });
  });
}

/** Serves one page with a form that posts a sign-up to Télmail, as another site could. */
async function hostileSite(host, target) {
  const html = `<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>Concours</title></head>
<body><form method="post" action="${target}/inscription">
<input type="hidden" name="email" value="victime@exemple.fr">
<input type="hidden" name="choix" value="alerte-meteo:email">
<input type="hidden" name="consent" value="on">
<button type="submit">Gagner un vélo</button></form></body></html>`;
  const site = createServer((_, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(html);
  });
  site.listen(0, '127.0.0.1');
  await once(site, 'listening');
  return { url: `http://${host}:${site.address().port}/`, close: () => site.close() };
}

describe('forms posted from another site', () => {
  for (const [kind, host] of [
    ['cross-site (localhost)', 'localhost'],
    ['same-site, other origin (127.0.0.1, other port)', '127.0.0.1'],
  ]) {
    test(`a ${kind} post is refused with a French page and nothing is sent`, async () => {
      const site = await hostileSite(host, server.base);
      const { context, page } = await openPage(viewports[0]);
      try {
        await page.goto(site.url);
        const answer = await submit(page, 'Gagner un vélo');
        assert.equal(answer.status(), 403);
        assert.match(answer.headers()['content-type'], /text\/html/);
        await expectHeading(page, 'Envoi refusé');
        await assert.doesNotReject(
          page.getByText('Ce formulaire doit être envoyé depuis le site de la Ville.').waitFor(),
        );
        assert.deepEqual(await emailsTo(server.dataDir, 'victime@exemple.fr'), []);
      } finally {
        await context.close();
        site.close();
      }
    });
  }
});
