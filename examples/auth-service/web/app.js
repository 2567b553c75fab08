// auth-service login page: sign up, log in, show the profile, log out.
//
// The API is on the same host under /api/ (the edge strips the prefix, so
// /api/auth/login reaches the service's /auth/login). Tokens live in this
// script's memory only: a reload signs you out, and nothing is left in storage.
"use strict";

const API = "/api/auth";

const session = { access: null, refresh: null };

const $ = (id) => document.getElementById(id);

function showStatus(text, kind) {
  const status = $("status");
  status.textContent = text;
  status.className = kind;
  status.hidden = !text;
}

function markInvalid(field) {
  for (const name of ["email", "password"]) {
    $(name).setAttribute("aria-invalid", String(name === field));
  }
}

// The service answers errors as {"error", "message", "field"?, "retry_after"?};
// anything else (the edge's own plain-text errors, say) is reported by status.
async function errorText(response) {
  let body = null;
  try {
    body = await response.json();
  } catch (_) {
    // not JSON
  }
  if (body && typeof body.message === "string") {
    markInvalid(body.field);
    let text = body.message;
    if (typeof body.field === "string") text += " (" + body.field + ")";
    if (typeof body.retry_after === "number") text += " — try again in " + body.retry_after + " s";
    return text;
  }
  return "The server answered " + response.status + " " + response.statusText;
}

async function call(method, path, { json, token } = {}) {
  const headers = { accept: "application/json" };
  if (json !== undefined) headers["content-type"] = "application/json";
  if (token) headers.authorization = "Bearer " + token;
  return fetch(API + path, {
    method,
    headers,
    body: json === undefined ? undefined : JSON.stringify(json),
    cache: "no-store",
    credentials: "omit",
  });
}

async function refreshTokens() {
  if (!session.refresh) return false;
  const response = await call("POST", "/refresh", { json: { refresh_token: session.refresh } });
  if (!response.ok) return false;
  const tokens = await response.json();
  session.access = tokens.access_token;
  session.refresh = tokens.refresh_token;
  return true;
}

async function loadProfile() {
  let response = await call("GET", "/me", { token: session.access });
  // An access token lives 15 minutes; the refresh token gets a new one once.
  if (response.status === 401 && (await refreshTokens())) {
    response = await call("GET", "/me", { token: session.access });
  }
  if (!response.ok) {
    signOutLocally();
    showStatus(await errorText(response), "error");
    return;
  }
  const me = await response.json();
  $("profile-email").textContent = me.email;
  $("profile-id").textContent = me.id;
  $("profile-scope").textContent = me.scope || "(none)";
  $("signed-out").hidden = true;
  $("profile").hidden = false;
  showStatus("Logged in as " + me.email, "ok");
}

function signOutLocally() {
  session.access = null;
  session.refresh = null;
  $("profile").hidden = true;
  $("signed-out").hidden = false;
  $("password").value = "";
}

async function signUp(email, password) {
  const response = await call("POST", "/register", { json: { email, password } });
  if (!response.ok) {
    showStatus(await errorText(response), "error");
    return;
  }
  const created = await response.json();
  markInvalid(null);
  showStatus("Account created for " + created.email + ". You can log in now.", "ok");
}

async function logIn(email, password) {
  const response = await call("POST", "/login", { json: { email, password } });
  if (!response.ok) {
    showStatus(await errorText(response), "error");
    return;
  }
  const tokens = await response.json();
  session.access = tokens.access_token;
  session.refresh = tokens.refresh_token;
  markInvalid(null);
  await loadProfile();
}

async function logOut() {
  const refresh = session.refresh;
  signOutLocally();
  if (refresh) {
    const response = await call("POST", "/logout", { json: { refresh_token: refresh } });
    if (!response.ok && response.status !== 204) {
      showStatus(await errorText(response), "error");
      return;
    }
  }
  showStatus("Logged out.", "ok");
}

// Buttons are disabled while a request runs, so a double click sends one request.
async function busy(buttons, work) {
  for (const button of buttons) button.disabled = true;
  try {
    await work();
  } catch (error) {
    showStatus("The API could not be reached: " + error.message, "error");
  } finally {
    for (const button of buttons) button.disabled = false;
  }
}

$("credentials").addEventListener("submit", (event) => {
  event.preventDefault();
  const email = $("email").value.trim();
  const password = $("password").value;
  const action = event.submitter && event.submitter.value === "signup" ? signUp : logIn;
  busy([$("login"), $("signup")], () => action(email, password));
});

$("logout").addEventListener("click", () => busy([$("logout")], logOut));
