// Staff signing in with a Cognito user pool from the back office page, as on AWS: moto stands in
// for Cognito (TELMAIL_MOTO_URL, started by the test command). An administrator has created the
// accounts and put them in their groups; a writer signs in with a temporary password, chooses
// their own when Cognito asks, then adds the service to their authenticator app (the pool requires
// it, as the template's does); a cabinet member gives the code of their authenticator app (MFA).
// The pages then call the staff API with the ID token, which the server checks against the pool's
// keys. No secret is in the browser.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { axeViolations, launchBrowser, startServer } from './support.mjs';

const moto = process.env.TELMAIL_MOTO_URL;
let server;
let browser;

/** One call of Cognito's JSON API on moto (unsigned, as a browser's would be). */
async function cognito(action, body) {
  const resp = await fetch(`${moto}/`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-amz-json-1.1',
      'X-Amz-Target': `AWSCognitoIdentityProviderService.${action}`,
    },
    body: JSON.stringify(body),
  });
  const data = await resp.json();
  if (!resp.ok) throw new Error(`${action}: ${JSON.stringify(data)}`);
  return data;
}

before(async () => {
  assert.ok(moto, 'TELMAIL_MOTO_URL is needed: run the browser tests through scripts/browser-tests.sh');
  const pool = (await cognito('CreateUserPool', { PoolName: `telmail-browser-${Date.now()}` })).UserPool.Id;
  const client = (
    await cognito('CreateUserPoolClient', {
      UserPoolId: pool,
      ClientName: 'telmail-staff',
      ExplicitAuthFlows: ['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'],
      ReadAttributes: ['email', 'name', 'phone_number'],
    })
  ).UserPoolClient.ClientId;
  for (const group of ['redaction', 'cabinet', 'admin']) {
    await cognito('CreateGroup', { UserPoolId: pool, GroupName: group });
  }
  await cognito('AdminCreateUser', {
    UserPoolId: pool,
    Username: 'mdupont',
    TemporaryPassword: 'Provisoire-2026!',
    UserAttributes: [
      { Name: 'name', Value: 'Marie Dupont' },
      { Name: 'email', Value: 'm.dupont@mairie.example' },
    ],
  });
  await cognito('AdminAddUserToGroup', { UserPoolId: pool, Username: 'mdupont', GroupName: 'redaction' });
  // A cabinet member whose account has an authenticator app (TOTP) as second factor.
  await cognito('AdminCreateUser', {
    UserPoolId: pool,
    Username: 'cabinet1',
    UserAttributes: [{ Name: 'name', Value: 'Paul Martin' }],
  });
  await cognito('AdminSetUserPassword', { UserPoolId: pool, Username: 'cabinet1', Password: 'Cabinet-mot-de-passe-2026', Permanent: true });
  await cognito('AdminAddUserToGroup', { UserPoolId: pool, Username: 'cabinet1', GroupName: 'cabinet' });
  const first = await cognito('InitiateAuth', {
    AuthFlow: 'USER_PASSWORD_AUTH',
    ClientId: client,
    AuthParameters: { USERNAME: 'cabinet1', PASSWORD: 'Cabinet-mot-de-passe-2026' },
  });
  const access = first.AuthenticationResult.AccessToken;
  await cognito('AssociateSoftwareToken', { AccessToken: access });
  await cognito('VerifySoftwareToken', { AccessToken: access, UserCode: '123456' });
  await cognito('AdminSetUserMFAPreference', {
    UserPoolId: pool,
    Username: 'cabinet1',
    SoftwareTokenMfaSettings: { Enabled: true, PreferredMfa: true },
  });
  // As the template sets it: every account needs an authenticator app.
  await cognito('SetUserPoolMfaConfig', {
    UserPoolId: pool,
    MfaConfiguration: 'ON',
    SoftwareTokenMfaConfiguration: { Enabled: true },
  });
  server = await startServer({
    env: {
      TELMAIL_COGNITO_USER_POOL: pool,
      TELMAIL_COGNITO_CLIENT_ID: client,
      TELMAIL_COGNITO_ENDPOINT: `${moto}/`,
    },
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('a writer signs in with the user pool, sets their password, and works with the ID token', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'fr-FR', bypassCSP: true });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));

  // Without a token the staff API refuses, whatever the page.
  const refused = await fetch(`${server.base}/api/admin/me`);
  assert.equal(refused.status, 401);

  await page.goto(`${server.base}/admin`);
  await page.getByLabel('Identifiant').fill('mdupont');
  await page.getByLabel('Mot de passe').fill('pas le bon');
  await page.getByRole('button', { name: 'Se connecter' }).click();
  await page.getByText('Identifiant ou mot de passe incorrect.').first().waitFor();

  // The temporary password: Cognito asks for a new one, in the same form.
  await page.getByLabel('Mot de passe').fill('Provisoire-2026!');
  await page.getByRole('button', { name: 'Se connecter' }).click();
  await page.getByLabel('Nouveau mot de passe (12 caractères au moins)').waitFor();
  assert.deepEqual(await axeViolations(page), []);
  await page.getByLabel('Nouveau mot de passe (12 caractères au moins)').fill('Mon-nouveau-mot-de-passe-2026');
  await page.getByRole('button', { name: 'Se connecter' }).click();
  // The pool requires a second factor: the page gives the key of the authenticator app to add.
  await page.getByLabel('Code à 6 chiffres affiché par votre application').waitFor();
  const key = await page.locator('#mfa-key').innerText();
  assert.match(key, /^\S{8,}$/, 'the key to add (moto gives a fixed one)');
  assert.match(await page.locator('#mfa-link').getAttribute('href'), new RegExp(`^otpauth://totp/T%C3%A9lmail%3Amdupont\\?secret=${key}&issuer=T%C3%A9lmail$`));
  assert.deepEqual(await axeViolations(page), []);
  await page.getByLabel('Code à 6 chiffres affiché par votre application').fill('123456');
  await Promise.all([page.waitForURL(`${server.base}/admin`), page.getByRole('button', { name: 'Se connecter' }).click()]);
  await page.getByRole('heading', { level: 1, name: 'Tableau de bord' }).waitFor();
  assert.match(await page.locator('#who').innerText(), /Marie Dupont \(Rédaction\)/);
  await page.locator('#figures .card').first().waitFor();

  // The pages call the staff API with the ID token: the composer lists the topics.
  await page.getByRole('link', { name: 'Rédiger' }).click();
  await page.getByLabel('Informations pratiques').waitFor();
  const token = await page.evaluate(() => JSON.parse(sessionStorage.getItem('telmail.tokens')).id_token);
  const me = await fetch(`${server.base}/api/admin/me`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(me.status, 200);
  assert.deepEqual((await me.json()).roles, ['redaction']);
  // A token altered by one character is refused.
  // (The replaced character is the one that changes: it must differ from what was there.)
  const forged = `${token.slice(0, -2)}${token.at(-2) === 'A' ? 'B' : 'A'}${token.slice(-1)}`;
  const bad = await fetch(`${server.base}/api/admin/me`, { headers: { Authorization: `Bearer ${forged}` } });
  assert.equal(bad.status, 401);
  // The local password sign-in is not offered.
  const login = await fetch(`${server.base}/api/admin/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Origin: server.base },
    body: JSON.stringify({ username: 'mdupont', password: 'Mon-nouveau-mot-de-passe-2026' }),
  });
  assert.equal(login.status, 404);

  // Signing out forgets the tokens: the next page asks to sign in again.
  await page.getByRole('button', { name: 'Se déconnecter' }).click();
  await page.getByRole('heading', { name: 'Connexion' }).waitFor();
  await page.goto(`${server.base}/admin/campagnes`);
  await page.waitForURL(/\/admin\?retour=/);
  assert.deepEqual(errors, []);
  await context.close();
});

test('a cabinet member with an authenticator app gives its code after the password, on a phone', async () => {
  const context = await browser.newContext({
    viewport: { width: 390, height: 844 },
    isMobile: true,
    hasTouch: true,
    locale: 'fr-FR',
    bypassCSP: true,
  });
  const page = await context.newPage();
  await page.goto(`${server.base}/admin`);
  await page.getByLabel('Identifiant').fill('cabinet1');
  await page.getByLabel('Mot de passe').fill('Cabinet-mot-de-passe-2026');
  await page.getByRole('button', { name: 'Se connecter' }).click();
  const code = page.getByLabel("Code de votre application d'authentification");
  await code.waitFor();
  assert.deepEqual(await axeViolations(page), []);
  await code.fill('123456');
  await Promise.all([page.waitForURL(`${server.base}/admin`), page.getByRole('button', { name: 'Se connecter' }).click()]);
  await page.getByRole('heading', { level: 1, name: 'Tableau de bord' }).waitFor();
  assert.match(await page.locator('#who').innerText(), /Paul Martin \(Cabinet du maire\)/);
  // The cabinet's menu: approvals, not the composer.
  assert.ok(await page.getByRole('link', { name: 'Approbations' }).isVisible());
  assert.equal(await page.getByRole('link', { name: 'Rédiger' }).isVisible(), false);
  await context.close();
});
