// Knowing who was reached and who is safe (#30, section 3), in Chromium against telmail-local
// with an SMTP relay that refuses one address: the writer asks for an answer in the composer,
// the crisis view fills as a resident taps « Je suis en sécurité » from the link of the SMS in
// the outbox (sms.jsonl), and the follow-up reaches, by SMS, the resident whose email bounced.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { after, before, test } from 'node:test';

import { axeViolations, launchBrowser, openContext, signInAt, smsTo, staffApiAt, startServer, waitFor, waitForSms } from './support.mjs';

const desktop = { viewport: { width: 1280, height: 900 } };
const phone = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };

/** The address the relay refuses for good (550), as a mailbox that does not exist. */
const UNKNOWN = 'perdu@exemple.fr';

let relay;
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

before(async () => {
  relay = await startRelay();
  server = await startServer({ staff: true, env: { TELMAIL_SMTP_URL: relay.url } });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await relay?.stop();
});

/** Logs a staff member in on the JSON API and returns a caller. */
const staffApi = (username) => staffApiAt(server.base, username);

/** A fresh browser at a window size, with its script errors collected. */
const open = (size) => openContext(browser, size);

/** Signs a staff member in at /admin. */
const signIn = (page, username) => signInAt(page, server.base, username);

test('the crisis view fills as residents answer, and the follow-up reaches those not reached', async () => {
  // GIVEN the sea front, two residents on it, and one whose only email the relay refuses
  const admin = await staffApi('admin');
  await admin('POST', '/api/admin/zones', { name: 'Front de mer', description: 'Le boulevard de la Plage.', streets: [] });
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
