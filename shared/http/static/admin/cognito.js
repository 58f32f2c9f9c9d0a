// Télmail back office on AWS: signing in with the staff's Cognito user pool from the page
// (the app client has no secret), answering its challenges (first password, setting up the
// authenticator app the pool requires, MFA code), and keeping the ID token fresh. The tokens
// live in this tab's sessionStorage only.

import { ApiError, forget, remember, tokens } from "./api.js";

const endpoint = document.body.dataset.cognitoEndpoint;
const clientId = document.body.dataset.cognitoClient;

async function call(action, body) {
  const resp = await fetch(endpoint, {
    method: "POST",
    headers: {
      "Content-Type": "application/x-amz-json-1.1",
      "X-Amz-Target": `AWSCognitoIdentityProviderService.${action}`,
    },
    body: JSON.stringify(body),
  });
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok) throw new ApiError(resp.status, { message: explain(data), fields: fieldOf(data) });
  return data;
}

/** Cognito's errors, in French. */
function explain(data) {
  const type = String(data.__type || "").split("#").pop();
  switch (type) {
    case "NotAuthorizedException":
      return "Identifiant ou mot de passe incorrect.";
    case "UserNotFoundException":
      return "Identifiant ou mot de passe incorrect.";
    case "CodeMismatchException":
    case "EnableSoftwareTokenMFAException":
      return "Code incorrect : saisissez le code affiché par votre application.";
    case "InvalidPasswordException":
      return "Ce mot de passe ne respecte pas les règles (12 caractères au moins).";
    case "PasswordResetRequiredException":
      return "Votre mot de passe doit être réinitialisé : contactez le service informatique.";
    case "TooManyRequestsException":
    case "LimitExceededException":
      return "Trop d'essais : patientez quelques minutes.";
    default:
      return "La connexion a échoué : réessayez dans un instant.";
  }
}

function fieldOf(data) {
  const type = String(data.__type || "");
  if (type.includes("CodeMismatch") || type.includes("EnableSoftwareTokenMFA") || type.includes("InvalidPassword")) return { answer: explain(data) };
  if (type.includes("NotAuthorized") || type.includes("UserNotFound")) return { password: explain(data) };
  return {};
}

/** What a challenge asks, in French. */
const CHALLENGES = {
  NEW_PASSWORD_REQUIRED: { label: "Nouveau mot de passe (12 caractères au moins)", secret: true, key: "NEW_PASSWORD" },
  SOFTWARE_TOKEN_MFA: { label: "Code de votre application d'authentification", secret: false, key: "SOFTWARE_TOKEN_MFA_CODE" },
  SMS_MFA: { label: "Code reçu par SMS", secret: false, key: "SMS_MFA_CODE" },
  MFA_SETUP: { label: "Code à 6 chiffres affiché par votre application", secret: false },
};

/** The first sign-in of a pool that requires a second factor: the app's key to add. */
async function setUpAuthenticator(data, username) {
  const associated = await call("AssociateSoftwareToken", { Session: data.Session });
  const issuer = "Télmail";
  const uri = `otpauth://totp/${encodeURIComponent(`${issuer}:${username}`)}?secret=${associated.SecretCode}&issuer=${encodeURIComponent(issuer)}`;
  return {
    challenge: {
      ...CHALLENGES.MFA_SETUP,
      name: "MFA_SETUP",
      session: associated.Session || data.Session,
      username,
      setup: { key: associated.SecretCode, uri },
    },
  };
}

async function outcome(data, username) {
  if (data.AuthenticationResult) {
    const r = data.AuthenticationResult;
    remember({
      id_token: r.IdToken,
      refresh_token: r.RefreshToken || tokens()?.refresh_token,
      expires_at: Date.now() + (r.ExpiresIn || 3600) * 1000,
      username,
    });
    return {};
  }
  if (data.ChallengeName === "MFA_SETUP") return setUpAuthenticator(data, username);
  const asked = CHALLENGES[data.ChallengeName];
  if (!asked) throw new ApiError(400, { message: "Cette étape de connexion n'est pas prise en charge : contactez le service informatique." });
  return { challenge: { ...asked, name: data.ChallengeName, session: data.Session, username } };
}

/** Signs in with a username and password: done, or a challenge to answer. */
export async function signIn(username, password) {
  const data = await call("InitiateAuth", {
    AuthFlow: "USER_PASSWORD_AUTH",
    ClientId: clientId,
    AuthParameters: { USERNAME: username, PASSWORD: password },
  });
  return outcome(data, username);
}

/** Answers a challenge: done, or the next challenge. */
export async function answer(challenge, value) {
  if (challenge.name === "MFA_SETUP") {
    const verified = await call("VerifySoftwareToken", { Session: challenge.session, UserCode: value, FriendlyDeviceName: "Télmail" });
    const data = await call("RespondToAuthChallenge", {
      ChallengeName: "MFA_SETUP",
      ClientId: clientId,
      Session: verified.Session,
      ChallengeResponses: { USERNAME: challenge.username },
    });
    return outcome(data, challenge.username);
  }
  const data = await call("RespondToAuthChallenge", {
    ChallengeName: challenge.name,
    ClientId: clientId,
    Session: challenge.session,
    ChallengeResponses: { USERNAME: challenge.username, [challenge.key]: value },
  });
  return outcome(data, challenge.username);
}

/** The ID token to send, refreshed when it is about to expire; null when signed out. */
export async function bearer() {
  const t = tokens();
  if (!t) return null;
  if (Date.now() < t.expires_at - 60_000) return t.id_token;
  if (!t.refresh_token) return null;
  try {
    const data = await call("InitiateAuth", {
      AuthFlow: "REFRESH_TOKEN_AUTH",
      ClientId: clientId,
      AuthParameters: { REFRESH_TOKEN: t.refresh_token },
    });
    await outcome(data, t.username);
    return tokens().id_token;
  } catch {
    forget();
    return null;
  }
}
