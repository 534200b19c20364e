// The Manager's API as the page uses it: fetch with the tokens this browser keeps, errors in words.
//
// Tokens live in this origin's localStorage (typed once, kept until "Forget it"): the access token,
// when the Manager has one, goes as `Authorization: Bearer`; the admin token as
// `X-Tablao-Admin-Token` (it also passes the access-token check). The websocket cannot send headers,
// so it carries them in its query (`?access_token=`, `?admin_token=`), as the Manager documents.

const ACCESS_KEY = "tablao.accessToken";
const ADMIN_KEY = "tablao.adminToken";
export const ADMIN_HEADER = "X-Tablao-Admin-Token";

function stored(key) {
  try {
    return localStorage.getItem(key) || "";
  } catch {
    return ""; // storage disabled (a private window's policy): the page still reads
  }
}

function store(key, value) {
  try {
    if (value) localStorage.setItem(key, value);
    else localStorage.removeItem(key);
  } catch {
    /* not kept: typed again next time */
  }
}

export const tokens = {
  get access() { return stored(ACCESS_KEY); },
  set access(value) { store(ACCESS_KEY, value); },
  get admin() { return stored(ADMIN_KEY); },
  set admin(value) { store(ADMIN_KEY, value); },
};

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }

  /** True when the Manager wants an access token this browser does not have (or has wrong). */
  get needsAccessToken() {
    return this.status === 403 && /access token/i.test(this.message);
  }
}

function headersFor(extra = {}, admin = tokens.admin) {
  const headers = { ...extra };
  const access = tokens.access;
  if (access) headers.Authorization = `Bearer ${access}`;
  if (admin) headers[ADMIN_HEADER] = admin;
  return headers;
}

async function errorOf(resp) {
  let message = `${resp.status} ${resp.statusText}`;
  try {
    const body = await resp.json();
    if (body && typeof body.message === "string") message = body.message;
  } catch {
    /* not JSON: keep the status line */
  }
  return new ApiError(resp.status, message);
}

/** One request; resolves to the parsed JSON, the text for text/plain, or null for 204. */
export async function request(method, path, { body, admin, headers: extra } = {}) {
  const init = { method, headers: headersFor(extra, admin), cache: "no-store" };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  let resp;
  try {
    resp = await fetch(path, init);
  } catch (exc) {
    throw new ApiError(0, "cannot reach the Manager");
  }
  if (!resp.ok) throw await errorOf(resp);
  if (resp.status === 204 || method === "HEAD") return null;
  const type = resp.headers.get("Content-Type") || "";
  return type.startsWith("application/json") ? resp.json() : resp.text();
}

export const get = (path) => request("GET", path);

/** True when `token` is this Manager's admin token (an admin-only HEAD; nothing is changed). */
export async function checkAdminToken(token) {
  try {
    await request("HEAD", "/api/v3/configuration/file", { admin: token });
    return true;
  } catch (exc) {
    if (exc.status === 401 || exc.status === 403) return false;
    throw exc;
  }
}

/** A blob: URL of an image under /job-files/ (fetched with the tokens, so no token goes in a URL). */
export async function imageUrl(path) {
  const resp = await fetch(path, { headers: headersFor(), cache: "no-store" });
  if (!resp.ok) throw await errorOf(resp);
  return URL.createObjectURL(await resp.blob());
}

/** The event stream's address, tokens in its query. */
export function eventsUrl(types) {
  const url = new URL("/api/v3/tablao/events", location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  url.searchParams.set("types", types.join(","));
  if (tokens.access) url.searchParams.set("access_token", tokens.access);
  if (tokens.admin) url.searchParams.set("admin_token", tokens.admin);
  return url.href;
}
