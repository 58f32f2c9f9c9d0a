// Télmail back office: the staff API as the signed-in person. Locally the session cookie travels
// by itself and state-changing calls echo the CSRF token; on AWS every call carries the Cognito ID
// token the API Gateway JWT authorizer checks. No secret is ever held here.

const mode = document.body.dataset.auth; // "session" or "cognito"
const CSRF = "telmail.csrf";
const TOKENS = "telmail.tokens";

/** An error of the staff API: its code, French message and per-field messages. */
export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || `Erreur ${status}`);
    this.status = status;
    this.code = body?.error || "http";
    this.fields = body?.fields || {};
  }
}

function tokens() {
  try {
    return JSON.parse(sessionStorage.getItem(TOKENS) || "null");
  } catch {
    return null;
  }
}

/** Keeps what a sign-in gave (CSRF token locally, Cognito tokens on AWS) for this tab. */
export function remember(grant) {
  if (grant.csrf_token) sessionStorage.setItem(CSRF, grant.csrf_token);
  if (grant.id_token) sessionStorage.setItem(TOKENS, JSON.stringify(grant));
}

/** Forgets the credentials of this tab. */
export function forget() {
  sessionStorage.removeItem(CSRF);
  sessionStorage.removeItem(TOKENS);
}

async function headers(method, body) {
  const h = { Accept: "application/json" };
  if (body !== undefined && !(body instanceof Blob)) h["Content-Type"] = "application/json";
  if (body instanceof Blob) h["Content-Type"] = body.type || "text/csv";
  if (mode === "cognito") {
    const { bearer } = await import("./cognito.js");
    const token = await bearer();
    if (token) h.Authorization = `Bearer ${token}`;
  } else if (method !== "GET" && method !== "HEAD") {
    h["X-CSRF-Token"] = sessionStorage.getItem(CSRF) || "";
  }
  return h;
}

/** Calls the staff API; resolves with the JSON answer (null when empty), rejects with ApiError.
 * A 401 sends the person to the sign-in page, then back here. */
export async function api(method, path, body) {
  const payload = body === undefined || body instanceof Blob ? body : JSON.stringify(body);
  const resp = await fetch(path, {
    method,
    headers: await headers(method, body),
    body: payload,
    credentials: "same-origin",
  });
  if (resp.status === 401 && !path.endsWith("/login")) {
    forget();
    const back = encodeURIComponent(location.pathname + location.search);
    location.assign(`/admin?retour=${back}`);
    throw new ApiError(401, { message: "Connectez-vous pour continuer." });
  }
  const type = resp.headers.get("content-type") || "";
  const data = type.includes("json") ? await resp.json() : resp.status === 204 ? null : await resp.text();
  if (!resp.ok) throw new ApiError(resp.status, typeof data === "object" ? data : { message: data });
  return data;
}

/** The signed-in person (`/api/admin/me`), or null when nobody is signed in. */
export async function whoami() {
  if (mode === "cognito" && !tokens()) return null;
  // No session cookie came with the page: nobody to ask the API about.
  if (mode === "session" && document.body.hasAttribute("data-signed-out")) return null;
  const resp = await fetch("/api/admin/me", {
    headers: await headers("GET"),
    credentials: "same-origin",
  });
  if (!resp.ok) return null;
  const me = await resp.json();
  if (me.csrf_token) sessionStorage.setItem(CSRF, me.csrf_token);
  return me;
}

/** Signs out: ends the local session, or forgets the Cognito tokens. */
export async function signOut() {
  if (mode === "session") {
    await api("POST", "/api/admin/logout").catch(() => null);
  }
  forget();
  location.assign("/admin");
}

export { tokens };
