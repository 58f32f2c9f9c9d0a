// Knowing who was reached and who is safe (#30, section 3), in Chromium against telmail-local
// with an SMTP relay that refuses one address: the writer asks for an answer in the composer,
// the crisis view fills as a resident taps « Je suis en sécurité » from the link of the SMS in
// the outbox (sms.jsonl), and the follow-up reaches, by SMS, the resident whose email bounced.
// Then alerts by zone (sections 1 and 2): the front desk types a paper form with a landline
// called for weather alerts, residents find their zone by their street on the web form, and a
// red submersion vigilance from a stand-in Météo-France feed, which the settings limit to the
// sea front, calls and texts only the sea front (outbox/voice.jsonl and sms.jsonl). The crisis
// cell: alerted in one action, and alerted again, by SMS and call, when the operator reports a
// member not reached.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { STAFF_PASSWORD, axeViolations, launchBrowser, openContext, signInAt, smsTo, staffApiAt, startServer, waitFor, waitForSms } from './support.mjs';

const desktop = { viewport: { width: 1280, height: 900 } };
const phone = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };

/** The address the relay refuses for good (550), as a mailbox that does not exist. */
const UNKNOWN = 'perdu@exemple.fr';

/** Python (standard library) recording, as an operator's receipts would, every SMS of an
 * alert undelivered and every call unanswered: argv = database, campaign id. */
const REPORT_NOT_REACHED = `
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=10)
with db:
    db.execute(
        "INSERT OR REPLACE INTO reach_reports (campaign_id, subscriber_id, channel, outcome, at) "
        "SELECT campaign_id, subscriber_id, channel, "
        "CASE channel WHEN 'sms' THEN 'failed' ELSE 'no_answer' END, ? "
        "FROM deliveries WHERE campaign_id = ?",
        (int(time.time() * 1_000_000), sys.argv[2]),
    )
`;

let relay;
let feed;
let server;
let browser;

/** A stand-in SMTP relay on 127.0.0.1: accepts every message but refuses `UNKNOWN`. */
async function startRelay() {
  const sockets = new Set();
  const srv = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    // The server's pooled connection may be reset rather than closed when it stops: that ends
    // the conversation, it is not a failure of the test (unhandled, it was thrown after the test).
    socket.on('error', () => socket.destroy());
    socket.write('220 relais.mairie ESMTP\r\n');
    let buffer = '';
    let inData = false;
    socket.on('data', (chunk) => {
      buffer += chunk.toString('latin1');
      for (let end = buffer.indexOf('\r\n'); end >= 0; end = buffer.indexOf('\r\n')) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            socket.write('250 2.0.0 Queued\r\n');
          }
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'RCPT') socket.write(line.toLowerCase().includes(UNKNOWN) ? '550 5.1.1 unknown user\r\n' : '250 OK\r\n');
        else if (verb === 'DATA') {
          inData = true;
          socket.write('354 Go ahead\r\n');
        } else if (verb === 'QUIT') socket.end('221 Bye\r\n');
        else socket.write(verb === 'EHLO' || verb === 'HELO' ? '250 relais.mairie\r\n' : '250 OK\r\n');
      }
    });
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  return {
    url: `smtp://127.0.0.1:${srv.address().port}`,
    async stop() {
      for (const s of sockets) s.destroy();
      srv.close();
      await once(srv, 'close');
    },
  };
}

/** Météo-France's `cartevigilance/encours` document (the real product's shape, see
 * shared/samples/vigilance_dpvigilance_encours.json) produced now: waves-submersion on
 * Gironde's coast (domain 3310) at `colour` (1 green … 4 red), from an hour ago to ten hours
 * ahead. */
function vigilanceDocument(colour) {
  const now = Date.now();
  const t = (hours) => new Date(now + hours * 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    product: {
      warning_type: 'vigilance',
      type_cdp: 'cdp_carte_externe',
      version_vigilance: 'V6',
      version_cdp: '1.0.0',
      update_time: t(0),
      domain_id: 'FRA',
      global_max_color_id: String(colour),
      periods: [
        {
          echeance: 'J',
          begin_validity_time: t(-1),
          end_validity_time: t(10),
          timelaps: {
            domain_ids: [
              {
                domain_id: '3310',
                max_color_id: colour,
                phenomenon_items: [
                  {
                    phenomenon_id: '9',
                    phenomenon_max_color_id: colour,
                    timelaps_items: [{ begin_time: t(-1), end_time: t(10), color_id: colour }],
                  },
                ],
              },
            ],
          },
        },
      ],
    },
  };
}

/** A stand-in Météo-France feed on 127.0.0.1: green until a test sets `colour`. */
async function startFeed() {
  const state = { colour: 1, polls: 0 };
  const srv = createHttpServer((req, res) => {
    state.polls += 1;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(vigilanceDocument(state.colour)));
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  return {
    url: `http://127.0.0.1:${srv.address().port}/public/DPVigilance/v1/cartevigilance/encours`,
    state,
    async stop() {
      srv.closeAllConnections();
      srv.close();
      await once(srv, 'close');
    },
  };
}

before(async () => {
  relay = await startRelay();
  feed = await startFeed();
  server = await startServer({
    staff: true,
    env: {
      TELMAIL_SMTP_URL: relay.url,
      // The relay polls the stand-in feed every second; submersion alerts go to the sea front.
      TELMAIL_WEATHER_FEED_URL: feed.url,
      TELMAIL_WEATHER_EVERY: '1',
      TELMAIL_WEATHER_ZONES: 'vagues-submersion=front-de-mer',
    },
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await feed?.stop();
  await relay?.stop();
});

/** Logs a staff member in on the JSON API and returns a caller. */
const staffApi = (username) => staffApiAt(server.base, username);

/** A fresh browser at a window size, with its script errors collected. */
const open = (size) => openContext(browser, size);

/** Signs a staff member in at /admin. */
const signIn = (page, username) => signInAt(page, server.base, username);

/** The streets of the sea front. */
const SEA_FRONT_STREETS = ['Boulevard de la Plage', 'Boulevard Veyrier-Montagnères', 'Avenue Gambetta'];

let zonesDefined;
/** An administrator defines the town's zones with their streets (once for the file's tests). */
function defineZones() {
  zonesDefined ??= (async () => {
    const admin = await staffApi('admin');
    const seaFront = await admin('POST', '/api/admin/zones', { name: 'Front de mer', description: 'Le boulevard de la Plage.', streets: SEA_FRONT_STREETS });
    assert.equal(seaFront.slug, 'front-de-mer');
    const moulleau = await admin('POST', '/api/admin/zones', { name: 'Le Moulleau', description: 'Le quartier du Moulleau.', streets: ['Avenue Notre-Dame-des-Passes'] });
    assert.equal(moulleau.slug, 'le-moulleau');
  })();
  return zonesDefined;
}

/** Every call of the voice outbox to `to` (E.164) so far. */
function callsTo(dataDir, to) {
  const file = join(dataDir, 'outbox', 'voice.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line))
    .filter((call) => call.to === to);
}

/** A resident signs up on the public web form at phone width and types the code of the SMS;
 * `zone` is done by typing a street, or by ticking a zone. */
async function residentSignsUp({ number, e164, street, zone }) {
  const resident = await open(phone);
  const { page } = resident;
  await page.goto(`${server.base}/inscription`);
  await page.getByLabel('Numéro de mobile', { exact: true }).fill(number);
  if (street) {
    // The street field suggests the zones' streets
    const suggested = await page.locator('datalist#streets option').evaluateAll((options) => options.map((o) => o.value));
    assert.ok(suggested.includes(street), `${street} is suggested: ${suggested}`);
    await page.getByLabel('Trouver ma zone par ma rue').fill(street);
  }
  if (zone) await page.getByRole('checkbox', { name: new RegExp(`^${zone}`) }).check();
  await page.getByLabel('Alerte météo par sms', { exact: true }).check();
  await page.getByRole('checkbox', { name: /^J'accepte que la Ville/ }).check();
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: "Je m'inscris" }).click()]);
  await page.getByRole('heading', { name: 'Saisir le code reçu par SMS' }).waitFor();
  const code = (await waitForSms(server.dataDir, e164)).text.match(/\b(\d{6})\b/)[1];
  await page.getByLabel('Code reçu par SMS').fill(code);
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Valider', exact: true }).click()]);
  await page.getByRole('heading', { name: 'Inscription confirmée' }).waitFor();
  return resident;
}

test('the crisis view fills as residents answer, and the follow-up reaches those not reached', async () => {
  // GIVEN the sea front, two residents on it, and one whose only email the relay refuses
  await defineZones();
  const admin = await staffApi('admin');
  const paper = (email, phone, channels, zones) =>
    admin('POST', '/api/admin/subscribers', {
      email, phone, paper_form_reference: 'F-30', zones, welcome: false,
      subscriptions: [{ topic: 'alerte-meteo', channels }],
    });
  await paper('sauve@exemple.fr', '0611000001', ['email', 'sms'], ['front-de-mer']);
  await paper('attente@exemple.fr', '0611000002', ['sms'], ['front-de-mer']);
  await paper(UNKNOWN, '0611000003', ['email'], []);

  // WHEN the writer composes an urgent alert asking for an answer, and the cabinet approves it
  const writer = await open(desktop);
  await signIn(writer.page, 'redac');
  await writer.page.goto(`${server.base}/admin/rediger`);
  await writer.page.getByLabel('Titre interne (jamais envoyé)').fill('Submersion : quittez le front de mer');
  await writer.page.getByLabel('Alerte météo').check();
  await writer.page.getByLabel('Texte du SMS').fill('Arcachon : vigilance rouge submersion. Quittez le front de mer.');
  await writer.page.getByLabel('Objet').fill('Vigilance rouge submersion');
  await writer.page.getByLabel(/^Texte \(Markdown/).fill('Quittez le front de mer et gagnez les hauteurs.');
  await writer.page.getByLabel(/Urgent : envoyer les SMS/).check();
  await writer.page.getByLabel(/Demander à chacun s'il est en sécurité/).check();
  await writer.page.getByRole('button', { name: 'Enregistrer le brouillon' }).click();
  await writer.page.getByText('Brouillon enregistré.').waitFor();
  await Promise.all([writer.page.waitForURL(/\/admin\/campagnes\/[0-9a-f-]+/), writer.page.getByRole('button', { name: 'Soumettre au cabinet' }).click()]);
  const id = writer.page.url().match(/campagnes\/([0-9a-f-]+)/)[1];
  const cabinet = await staffApi('cabinet');
  const read = await cabinet('GET', `/api/admin/campaigns/${id}`);
  assert.equal(read.acknowledgement, true, 'the composer asked for an answer');
  await cabinet('POST', `/api/admin/campaigns/${id}/approve`, { version: read.version });

  // THEN the campaign page leads to its crisis view, which counts who was reached
  await writer.page.reload();
  await writer.page.getByRole('link', { name: /Vue de crise/ }).click();
  await writer.page.waitForURL(/\/crise$/);
  const summary = writer.page.locator('#summary');
  await waitFor('the send to end', async () => (await summary.innerText().catch(() => '')).includes('2 personne(s) jointe(s) sur 3'));
  assert.match(await summary.innerText(), /0 en sécurité, 0 ayant besoin d'aide, 1 non jointe/);
  const callbacks = writer.page.locator('#callbacks tbody tr');
  assert.equal(await callbacks.count(), 1);
  assert.match(await callbacks.first().innerText(), /non joint[\s\S]*06 11 00 00 03[\s\S]*perdu@exemple\.fr/);
  assert.deepEqual(await axeViolations(writer.page), [], 'axe on the crisis view');

  // WHEN a resident taps « Je suis en sécurité » from the link of the SMS in the outbox
  const sms = await waitForSms(server.dataDir, '+33611000001');
  const link = sms.text.match(/En sécurité \? (\S+)/)[1];
  assert.ok(link.length < 100, `a short link: ${link}`);
  const resident = await open(phone);
  await resident.page.goto(link);
  await resident.page.getByRole('heading', { name: 'Êtes-vous en sécurité ?' }).waitFor();
  assert.deepEqual(await axeViolations(resident.page), [], 'axe on the reply page');
  await Promise.all([resident.page.waitForNavigation(), resident.page.getByRole('button', { name: 'Je suis en sécurité' }).click()]);
  await resident.page.getByRole('heading', { name: 'Merci, votre réponse est enregistrée' }).waitFor();
  assert.deepEqual(await axeViolations(resident.page), [], 'axe on the answer recorded');

  // THEN the crisis view shows it without a reload, in the total and in the sea front's line
  await waitFor('the answer in the crisis view', async () => (await summary.innerText()).includes('1 en sécurité'));
  const seaFront = writer.page.locator('#by-zone tbody tr', { hasText: 'Front de mer' });
  assert.equal(await seaFront.locator('td').nth(4).innerText(), '1', 'one safe on the sea front');

  // WHEN staff send the follow-up to those not reached
  writer.page.once('dialog', (d) => d.accept());
  await writer.page.getByRole('button', { name: 'Relancer les personnes non jointes par un autre canal' }).click();
  await writer.page.getByText('Relance envoyée à 1 personne(s) : 1 SMS.').waitFor();
  // THEN the one whose email bounced gets the SMS, with their own link, and counts as reached
  const followed = await waitForSms(server.dataDir, '+33611000003');
  assert.match(followed.text, /En sécurité \? http\S+\/s\?t=/);
  await waitFor('the follow-up in the crisis view', async () => (await summary.innerText()).includes('3 personne(s) jointe(s) sur 3'));
  assert.equal(await writer.page.locator('#callbacks-empty').count(), 1, 'nobody left to call back');
  assert.equal(smsTo(server.dataDir, '+33611000003').length, 1);
  assert.deepEqual(writer.errors, [], 'no script error on the staff pages');
  assert.deepEqual(resident.errors, [], 'no script error on the resident pages');
});

test('an administrator adds a member of the crisis cell, the cabinet alerts the cell and follows who is safe', async () => {
  // GIVEN an administrator adding the mayor to the crisis cell in the back office
  const adminUi = await open(desktop);
  await signIn(adminUi.page, 'admin');
  await adminUi.page.getByRole('link', { name: 'Cellule de crise' }).click();
  await adminUi.page.waitForURL(/\/admin\/cellule$/);
  await adminUi.page.getByLabel('Nom', { exact: true }).fill('Marie Dupont');
  await adminUi.page.getByLabel(/^Fonction/).fill('Maire');
  // A landline typed as the mobile is refused, naming the field
  await adminUi.page.getByLabel(/^Mobile/).fill('05 56 83 94 94');
  await adminUi.page.getByRole('button', { name: 'Ajouter le membre' }).click();
  await adminUi.page.locator('.field-error', { hasText: "n'est pas un numéro de mobile" }).waitFor();
  await adminUi.page.getByLabel(/^Mobile/).fill('06 98 76 54 32');
  await adminUi.page.getByRole('button', { name: 'Ajouter le membre' }).click();
  await adminUi.page.getByText('Membre « Marie Dupont » ajouté à la cellule de crise.').waitFor();
  const row = adminUi.page.locator('#members-table tbody tr', { hasText: 'Marie Dupont' });
  assert.match(await row.innerText(), /Maire[\s\S]*06 98 76 54 32[\s\S]*d'astreinte/);
  assert.deepEqual(await axeViolations(adminUi.page), [], 'axe on the crisis cell page');

  // WHEN the cabinet alerts the cell in one action
  const cab = await open(desktop);
  await signIn(cab.page, 'cabinet');
  await cab.page.goto(`${server.base}/admin/cellule`);
  await cab.page.locator('#members-table').waitFor();
  assert.equal(await cab.page.getByRole('button', { name: 'Ajouter le membre' }).isVisible(), false, 'the cabinet reads the cell, an administrator keeps it');
  await cab.page.getByLabel(/^Message/).fill('Activation du PCS : submersion marine. Rendez-vous en mairie.');
  cab.page.once('dialog', (d) => d.accept());
  await Promise.all([cab.page.waitForURL(/\/admin\/cellule\/alertes\/[0-9a-f-]+$/), cab.page.getByRole('button', { name: /Alerter la cellule/ }).click()]);

  // THEN its live view lists the member, reached once the SMS and the call are handed over
  const member = cab.page.locator('#cell-members tbody tr', { hasText: 'Marie Dupont' });
  await waitFor('the member reached', async () => /joint, sans réponse/.test(await member.innerText().catch(() => '')));
  assert.match(await member.innerText(), /SMS : remis au prestataire[\s\S]*appel : remis au prestataire/);
  assert.deepEqual(await axeViolations(cab.page), [], 'axe on the alert of the cell');

  // WHEN the operator reports her SMS undelivered and her call unanswered (as AWS's receipts
  // would: written to the store, the local outbox cannot know)…
  const alert = cab.page.url().split('/').pop();
  const reported = spawnSync('python3', ['-c', REPORT_NOT_REACHED, join(server.dataDir, 'telmail.sqlite'), alert], { encoding: 'utf8' });
  assert.equal(reported.status, 0, reported.stderr);
  await waitFor('the member not reached', async () => /non joint/.test(await member.innerText()));
  // …and the cabinet alerts again the members not reached
  cab.page.once('dialog', (d) => d.accept());
  await cab.page.getByRole('button', { name: 'Relancer les membres non joints' }).click();
  await cab.page.getByText('Relance envoyée à 1 membre(s) : 1 SMS, 1 appel(s).').waitFor();
  // THEN she is texted and called again, and reached
  await waitFor('the second SMS', () => smsTo(server.dataDir, '+33698765432').length === 2);
  await waitFor('the member reached again', async () => /joint, sans réponse/.test(await member.innerText()));

  // WHEN the mayor taps « Je suis en sécurité » from the SMS in the outbox
  const sms = await waitForSms(server.dataDir, '+33698765432');
  const link = sms.text.match(/En sécurité \? (\S+)/)[1];
  const mayor = await open(phone);
  await mayor.page.goto(link);
  await Promise.all([mayor.page.waitForNavigation(), mayor.page.getByRole('button', { name: 'Je suis en sécurité' }).click()]);
  await mayor.page.getByRole('heading', { name: 'Merci, votre réponse est enregistrée' }).waitFor();
  // THEN the view shows it without a reload
  await waitFor('the answer in the view', async () => /en sécurité/.test(await member.innerText()));
  assert.match(await cab.page.locator('#summary').innerText(), /1 en sécurité/);
  assert.deepEqual(adminUi.errors, [], 'no script error on the cell page');
  assert.deepEqual(cab.errors, [], 'no script error on the alert page');
});

test('a red submersion vigilance limited to the sea front calls and texts only its residents', async () => {
  // GIVEN the zones, with their streets, defined by an administrator
  await defineZones();

  // WHEN the front desk types a paper form with a landline, for weather alerts by call, on the sea front
  const desk = await open(desktop);
  await desk.page.goto(`${server.base}/admin`);
  await desk.page.getByLabel('Identifiant').fill('accueil');
  await desk.page.getByLabel('Mot de passe').fill(STAFF_PASSWORD);
  await Promise.all([desk.page.waitForURL(`${server.base}/admin/abonnes`), desk.page.getByRole('button', { name: 'Se connecter' }).click()]);
  const form = desk.page.locator('#paper');
  await form.getByLabel(/^Mobile, ou téléphone fixe/).fill('05 56 22 33 44');
  await form.getByLabel('Référence du formulaire (preuve du consentement)').fill('F-31');
  await form.getByLabel('Lieu de dépôt (mairie, maison de quartier…)').fill('Mairie');
  await form.getByRole('checkbox', { name: 'Front de mer' }).check();
  // SMS to a landline is refused, next to the number
  await form.getByLabel('Alerte météo par SMS').check();
  await form.getByRole('button', { name: 'Ajouter' }).click();
  await form.locator('#paper-phone[aria-invalid="true"] + .field-error', { hasText: "n'est pas un numéro de mobile" }).waitFor();
  await form.getByLabel('Alerte météo par SMS').uncheck();
  await form.getByLabel('Alerte météo par appel vocal').check();
  await form.getByRole('button', { name: 'Ajouter' }).click();
  await desk.page.getByText('Abonné ajouté : 05 56 22 33 44.').waitFor();
  await desk.page.getByRole('row', { name: /05 56 22 33 44.*Alerte météo \(appel vocal\)/ }).waitFor();
  assert.deepEqual(await axeViolations(desk.page), [], 'axe on the front desk page');

  // AND a resident finds their zone by their street on the web form; another names Le Moulleau
  const seaFront = await residentSignsUp({ number: '06 44 55 66 77', e164: '+33644556677', street: 'Boulevard Veyrier-Montagnères' });
  assert.deepEqual(await axeViolations(seaFront.page), [], 'axe on the sign-up confirmed');
  const moulleau = await residentSignsUp({ number: '06 44 55 66 78', e164: '+33644556678', zone: 'Le Moulleau' });
  const admin = await staffApi('admin');
  const zonesOf = async (q) => (await admin('GET', `/api/admin/subscribers?q=${encodeURIComponent(q)}`)).items.map((s) => s.zones);
  assert.deepEqual(await zonesOf('0644556677'), [['front-de-mer']], 'the street gave the sea front');
  assert.deepEqual(await zonesOf('0644556678'), [['le-moulleau']]);
  assert.deepEqual(await zonesOf('0556223344'), [['front-de-mer']]);

  // WHEN Météo-France's feed turns red for waves-submersion (red goes out at once)
  feed.state.colour = 4;

  // THEN the landline is called and the sea front resident texted
  const call = await waitFor('the call to the landline', () => callsTo(server.dataDir, '+33556223344')[0]);
  assert.match(call.text, /^Message de la Ville d'Arcachon\. Météo-France place le secteur en vigilance rouge vagues-submersion, du .* Je répète\. /);
  assert.doesNotMatch(call.text, /https?:/, 'nothing a call cannot say');
  const sms = await waitFor('the alert SMS on the sea front', () => smsTo(server.dataDir, '+33644556677').find((m) => /vigilance rouge vagues-submersion/.test(m.text)));
  assert.match(sms.text, /^Ville d'Arcachon : vigilance rouge vagues-submersion/);
  const weather = await admin('GET', '/api/admin/weather');
  assert.deepEqual(weather.zones, { 'vagues-submersion': ['front-de-mer'] }, 'the setting as staff see it');
  assert.equal(weather.in_force.length, 1, 'one alert in force');
  const id = weather.in_force[0].campaign;
  await waitFor('the alert to be sent', async () => (await admin('GET', `/api/admin/campaigns/${id}`)).status === 'sent');

  // AND nobody else of the zones: Le Moulleau has only its sign-up code, the landline no SMS
  assert.equal(smsTo(server.dataDir, '+33644556678').length, 1, 'Le Moulleau: the sign-up code only');
  assert.deepEqual(callsTo(server.dataDir, '+33644556678'), []);
  assert.deepEqual(smsTo(server.dataDir, '+33556223344'), [], 'no SMS to a landline');
  assert.equal(callsTo(server.dataDir, '+33556223344').length, 1, 'one call');

  // AND the campaign page says it was limited to the sea front, and counts the call
  const writer = await open(desktop);
  await signIn(writer.page, 'redac');
  await writer.page.goto(`${server.base}/admin/campagnes/${id}`);
  const zones = writer.page.locator('dl.facts dt', { hasText: /^Zones$/ }).locator('xpath=following-sibling::dd[1]');
  assert.equal(await zones.innerText(), "« Front de mer », et les abonnés qui n'ont indiqué aucune zone");
  await writer.page.getByRole('heading', { name: 'Appels vocaux' }).waitFor();
  assert.match(await writer.page.locator('.card', { has: writer.page.getByRole('heading', { name: 'Appels vocaux' }) }).innerText(), /1 envoyés/);
  assert.deepEqual(await axeViolations(writer.page), [], 'axe on the weather campaign page');

  // AND the dashboard counts the subscribers by zone, and the landline among the calls
  await writer.page.goto(`${server.base}/admin`);
  const seaFrontRow = writer.page.locator('#zones-table tbody tr', { hasText: 'Front de mer' });
  await seaFrontRow.waitFor();
  assert.ok(Number(await seaFrontRow.locator('td').textContent()) >= 2, 'the sea front resident and the landline');
  const topics = writer.page.locator('#topics-chart table').first();
  assert.deepEqual(await topics.locator('thead th').allTextContents(), ['', 'e-mail', 'SMS', 'appel']);
  const weatherRow = await topics.locator('tbody tr', { hasText: 'Alerte météo' }).locator('td').allTextContents();
  assert.ok(Number(weatherRow[2]) >= 1, `the weather topic's calls: ${weatherRow}`);
  for (const who of [desk, seaFront, moulleau, writer]) assert.deepEqual(who.errors, [], 'no script error');
});
