// The town's website with Télmail embedded, in Chromium: a page of another origin on 127.0.0.1
// (the town's site) loads the two scripts a webmaster pastes — the alert banner and the latest
// message of a topic — and frames the sign-up form, in which a resident signs up by phone to the
// end. The public archive passes axe-core and reads without JavaScript.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  axeViolations,
  launchBrowser,
  signInAt,
  smsTo,
  staffApiAt,
  startServer,
  telmailBin,
  waitFor,
  waitForSms,
} from './support.mjs';

let server;
let browser;
let site;

/** The town's own site: its home page embeds the two scripts, another page frames the form. */
async function townSite() {
  let telmail = '';
  const pages = {
    '/': () => `<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>Ville d'Arcachon</title></head>
<body><header><p>Site officiel de la Ville d'Arcachon</p></header><main><h1>Bienvenue à Arcachon</h1>
<div id="telmail-alerte" data-texte="#ffffff" data-fond="#003b6f"></div>
<script src="${telmail}/widget/alerte.js" async></script>
<h2>Dernières informations culturelles</h2>
<div id="telmail-messages" data-theme="culture-animations"></div>
<script src="${telmail}/widget/messages.js" async></script>
</main></body></html>`,
    '/alertes-sms': () => `<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>Alertes SMS</title></head>
<body><main><h1>Recevoir les alertes de la Ville</h1>
<iframe src="${telmail}/inscription" title="Inscription aux messages de la Ville" width="800" height="1400"></iframe>
</main></body></html>`,
  };
  const http = createServer((req, res) => {
    const page = pages[new URL(req.url, 'http://x').pathname];
    res.writeHead(page ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' });
    res.end(page ? page() : 'introuvable');
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  return {
    origin: `http://127.0.0.1:${http.address().port}`,
    embed(base) {
      telmail = base;
    },
    close: () => http.close(),
  };
}

before(async () => {
  site = await townSite();
  server = await startServer({ staff: true, env: { TELMAIL_FRAME_ANCESTORS: site.origin } });
  site.embed(server.base);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  site?.close();
});

/** Logs a staff member in on the JSON API and returns a caller. */
const staffApi = (username) => staffApiAt(server.base, username);

/** A Météo-France `cartevigilance/encours` document of now: red waves-submersion on the coast. */
function redVigilance() {
  const t = (h) => new Date(Date.now() + h * 3_600_000).toISOString().replace(/\.\d+Z$/, 'Z');
  return JSON.stringify({
    product: {
      warning_type: 'vigilance',
      update_time: t(0),
      domain_id: 'FRA',
      periods: [
        {
          echeance: 'J',
          begin_validity_time: t(-1),
          end_validity_time: t(10),
          timelaps: {
            domain_ids: [
              {
                domain_id: '3310',
                max_color_id: 4,
                phenomenon_items: [
                  {
                    phenomenon_id: '9',
                    phenomenon_max_color_id: 4,
                    timelaps_items: [{ begin_time: t(-1), end_time: t(10), color_id: 4 }],
                  },
                ],
              },
            ],
          },
        },
      ],
    },
  });
}

/** A fresh context (its own cache and cookies) whose every request is recorded. */
async function visit(options = {}) {
  // CSP bypassed only so that axe-core can be injected into the pages.
  const context = await browser.newContext({ locale: 'fr-FR', bypassCSP: true, ...options });
  const requested = [];
  context.on('request', (r) => requested.push(r.url()));
  const page = await context.newPage();
  return { context, page, requested };
}

describe('the town website with Télmail embedded', () => {
  test('with no alert in force the banner stays empty', async () => {
    const { context, page } = await visit();
    const answered = page.waitForResponse((r) => r.url() === `${server.base}/api/public/alert`);
    await page.goto(`${site.origin}/`);
    const alert = await answered;
    assert.deepEqual(await alert.json(), { alert: null });
    assert.equal(await page.locator('#telmail-alerte').innerHTML(), '');
    await context.close();
  });

  test('a red alert and the latest message show on another origin, with no cookie and nothing from elsewhere', async () => {
    // GIVEN a message sent to « Culture et animations » and a red vigilance relayed
    const redac = await staffApi('redac');
    const cabinet = await staffApi('cabinet');
    const draft = await redac('POST', '/api/admin/campaigns', {
      title: 'Concert',
      topics: ['culture-animations'],
      sms: null,
      urgent: false,
      send_at: null,
      event_date: '2026-12-20',
      email: { subject: 'Concert de Noël à Notre-Dame des Passes', body_markdown: 'Entrée libre, **dimanche 20 décembre**.' },
    });
    await redac('POST', `/api/admin/campaigns/${draft.id}/submit`);
    const read = await cabinet('GET', `/api/admin/campaigns/${draft.id}`);
    await cabinet('POST', `/api/admin/campaigns/${draft.id}/approve`, { version: read.version });
    const document = join(server.dataDir, 'encours.json');
    writeFileSync(document, redVigilance());
    const check = spawnSync(telmailBin, ['--data-dir', server.dataDir, 'weather', 'check', document], { encoding: 'utf8' });
    assert.equal(check.status, 0, check.stderr);
    await waitFor('the alert to be public', async () => (await (await fetch(`${server.base}/api/public/alert`)).json()).alert);
    await waitFor('the concert to be published', async () =>
      (await (await fetch(`${server.base}/api/public/latest?topic=culture-animations`)).json()).message,
    );

    // WHEN a resident opens the town's home page
    const { context, page, requested } = await visit();
    await page.goto(`${site.origin}/`);
    const banner = page.locator('#telmail-alerte [role="alert"]');
    await banner.waitFor();

    // THEN the banner tells the alert, in French, with a link to its message
    const text = await banner.innerText();
    assert.match(text, /Vigilance rouge vagues-submersion/);
    assert.match(text, /Ville d'Arcachon : vigilance rouge/i);
    const link = banner.getByRole('link', { name: 'Lire le message de la Ville' });
    const alertHref = await link.getAttribute('href');
    assert.match(alertHref, new RegExp(`^${server.base}/messages/[0-9a-f-]{36}-vigilance-rouge`));
    // AND it does not move
    const motion = await banner.evaluate((el) => {
      const s = getComputedStyle(el);
      return `${s.animationName}|${s.transitionDuration}`;
    });
    assert.equal(motion, 'none|0s');
    // AND it is in the town's colours, the vigilance red marking its edge and title
    const colours = await banner.evaluate((el) => {
      const s = getComputedStyle(el);
      return [s.color, s.backgroundColor, s.borderLeftColor, getComputedStyle(el.querySelector('strong')).backgroundColor];
    });
    assert.deepEqual(colours, ['rgb(255, 255, 255)', 'rgb(0, 59, 111)', 'rgb(179, 0, 27)', 'rgb(179, 0, 27)']);
    // AND the latest cultural message is shown with its link
    const latest = page.locator('#telmail-messages').getByRole('link', { name: 'Concert de Noël à Notre-Dame des Passes' });
    await latest.waitFor();
    assert.match(await latest.getAttribute('href'), new RegExp(`^${server.base}/messages/${draft.id}-concert-de-noel`));
    // AND the page, banner included, passes axe-core (roles, contrast)
    assert.deepEqual(await axeViolations(page), [], 'axe on the town page with the banner');
    // AND nothing came from a third origin, and no cookie was set
    const origins = new Set(requested.map((u) => new URL(u).origin));
    assert.deepEqual([...origins].sort(), [site.origin, server.base].sort());
    assert.deepEqual(await context.cookies(), []);

    // WHEN the resident follows the banner's link, THEN the archive page reads well
    await Promise.all([page.waitForNavigation(), link.click()]);
    assert.match((await page.locator('h1').innerText()).trim(), /Vigilance rouge vagues-submersion/);
    assert.deepEqual(await axeViolations(page), [], `axe on ${page.url()}`);
    await context.close();

    // AND in the back office the alert's campaign names its source with the labels the page
    // carries from the domain (colour and phenomenon)
    const alertId = /\/messages\/([0-9a-f-]{36})-/.exec(alertHref)[1];
    const staff = await visit();
    await signInAt(staff.page, server.base, 'cabinet');
    await staff.page.goto(`${server.base}/admin/campagnes/${alertId}`);
    await staff.page.getByText(/^Météo-France, vigilance rouge vagues-submersion \(domaine 3310\)/).waitFor();
    await staff.context.close();
  });

  test('the archive pages read without JavaScript and pass axe-core', async () => {
    const { context, page } = await visit({ javaScriptEnabled: false });
    const answer = await page.goto(`${server.base}/messages`);
    assert.equal(answer.status(), 200);
    assert.equal((await page.locator('h1').innerText()).trim(), 'Messages de la Ville');
    await page.getByRole('link', { name: 'Concert de Noël à Notre-Dame des Passes' }).waitFor();
    await Promise.all([
      page.waitForNavigation(),
      page.getByRole('link', { name: 'Concert de Noël à Notre-Dame des Passes' }).click(),
    ]);
    assert.equal((await page.locator('h1').innerText()).trim(), 'Concert de Noël à Notre-Dame des Passes');
    assert.match(await page.locator('main').innerText(), /20 décembre 2026/);
    await context.close();
    // axe-core needs script: the same pages, with it
    const withScript = await visit();
    for (const path of ['/messages', '/messages?theme=culture-animations']) {
      await withScript.page.goto(`${server.base}${path}`);
      assert.deepEqual(await axeViolations(withScript.page), [], `axe on ${path}`);
    }
    await withScript.context.close();
  });

  test('a resident signs up by phone inside the frame on the town site, code included', async () => {
    const { context, page } = await visit();
    await page.goto(`${site.origin}/alertes-sms`);
    const frame = page.frameLocator('iframe[title="Inscription aux messages de la Ville"]');
    await frame.getByLabel('Numéro de mobile', { exact: true }).fill('06 12 34 56 31');
    await frame.getByLabel('Alerte météo par sms', { exact: true }).check();
    await frame.getByRole('checkbox', { name: /^J'accepte que la Ville/ }).check();
    await frame.getByRole('button', { name: "Je m'inscris" }).click();
    // The form guard let the framed post through, and its redirect stayed in the frame
    await frame.getByRole('heading', { name: 'Saisir le code reçu par SMS' }).waitFor();
    const sms = await waitForSms(server.dataDir, '+33612345631');
    const code = sms.text.match(/\b(\d{6})\b/)[1];
    await frame.getByLabel('Code reçu par SMS').fill(code);
    await frame.getByRole('button', { name: 'Valider', exact: true }).click();
    await frame.getByRole('heading', { name: 'Inscription confirmée' }).waitFor();
    assert.equal(page.url(), `${site.origin}/alertes-sms`, 'the town page stayed');
    assert.equal(smsTo(server.dataDir, '+33612345631').length, 1, 'only the code was sent');
    await context.close();
  });

  test('the communication service sees a sent campaign in the archive and withdraws it from the back office', async () => {
    const { id, path } = await (async () => {
      const page = await (await fetch(`${server.base}/api/public/latest?topic=culture-animations`)).json();
      const url = new URL(page.message.url);
      return { id: url.pathname.slice('/messages/'.length, '/messages/'.length + 36), path: url.pathname };
    })();
    const { context, page } = await visit();
    await signInAt(page, server.base, 'redac');
    await page.goto(`${server.base}/admin/campagnes/${id}`);
    // The campaign links to its public page…
    const publicLink = page.getByRole('link', { name: 'voir sa page publique' });
    await publicLink.waitFor();
    assert.equal(await publicLink.getAttribute('href'), path);
    // …and taking it out asks first, then says it is done
    page.once('dialog', (d) => d.accept());
    await page.getByRole('button', { name: 'Retirer des archives publiques' }).click();
    await page.getByText('Message retiré des archives publiques.').waitFor();
    await page.getByRole('link', { name: 'voir sa page publique' }).waitFor({ state: 'detached' });
    assert.equal((await fetch(`${server.base}${path}`)).status, 404);
    await context.close();
  });
});
