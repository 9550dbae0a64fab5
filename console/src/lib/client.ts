// The console's only way to the server: POST /graphql/ (the public core API) with the bearer token,
// the chosen language (Accept-Language, so server messages come translated) and, for files, the
// GraphQL multipart request spec. An expired access token is renewed once with the refresh token.
import { print } from "graphql";
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";

export const API_URL = "/graphql/";
export const REFRESH_KEY = "marketplace.console.refresh";

export class ApiError extends Error {
  code: string | undefined;
  status: number;
  constructor(message: string, code: string | undefined, status: number) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

type Settings = { language: () => string; onSignedOut: () => void };
const settings: Settings = { language: () => "en", onSignedOut: () => undefined };
let accessToken: string | null = null;
let refreshing: Promise<boolean> | null = null;

export function configureClient(options: Partial<Settings>) {
  Object.assign(settings, options);
}

export function storedRefreshToken(): string | null {
  try {
    return window.localStorage.getItem(REFRESH_KEY);
  } catch {
    return null;
  }
}

export function setTokens(access: string | null, refresh: string | null) {
  accessToken = access;
  try {
    if (refresh) window.localStorage.setItem(REFRESH_KEY, refresh);
    else window.localStorage.removeItem(REFRESH_KEY);
  } catch {
    /* storage refused (private mode): the session lasts as long as the page */
  }
}

export function hasAccessToken() {
  return accessToken !== null;
}

/** Files anywhere in the variables, replaced by null, with their paths (variables.input.logo...). */
export function extractFiles(variables: unknown): { clean: unknown; files: [string, File][] } {
  const files: [string, File][] = [];
  const walk = (value: unknown, path: string): unknown => {
    if (typeof File !== "undefined" && value instanceof File) {
      files.push([path, value]);
      return null;
    }
    if (Array.isArray(value)) return value.map((item, index) => walk(item, `${path}.${index}`));
    if (value && typeof value === "object") {
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, walk(item, `${path}.${key}`)]));
    }
    return value;
  };
  const clean = walk(variables ?? {}, "variables");
  return { clean, files };
}

function body(query: string, variables: unknown): { body: BodyInit; headers: Record<string, string> } {
  const { clean, files } = extractFiles(variables);
  if (files.length === 0) {
    return { body: JSON.stringify({ query, variables: clean }), headers: { "Content-Type": "application/json" } };
  }
  const form = new FormData();
  form.append("operations", JSON.stringify({ query, variables: clean }));
  form.append("map", JSON.stringify(Object.fromEntries(files.map(([path], index) => [String(index), [path]]))));
  files.forEach(([, file], index) => form.append(String(index), file, file.name));
  // Not a "simple" cross-site request: the server refuses multipart posts without this or a token.
  return { body: form, headers: { "Apollo-Require-Preflight": "true" } };
}

async function send(query: string, variables: unknown, withToken: boolean) {
  const prepared = body(query, variables);
  const headers: Record<string, string> = { ...prepared.headers, "Accept-Language": settings.language(), Accept: "application/json" };
  if (withToken && accessToken) headers.Authorization = `Bearer ${accessToken}`;
  const response = await fetch(API_URL, { method: "POST", headers, body: prepared.body, credentials: "omit" });
  let payload: { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] } = {};
  try {
    payload = await response.json();
  } catch {
    throw new ApiError(response.statusText || "The server did not answer.", "NETWORK", response.status);
  }
  return { status: response.status, payload };
}

const REFRESH = `mutation ConsoleRefresh($refreshToken: String!) { tokenRefresh(refreshToken: $refreshToken) { token refreshToken errors { code } } }`;

/** Run `work` while no other tab of the console refreshes (Web Locks), or at once without them. */
function exclusive<T>(work: () => Promise<T>): Promise<T> {
  const locks = typeof navigator !== "undefined" ? (navigator as Navigator & { locks?: LockManager }).locks : undefined;
  return locks ? (locks.request(REFRESH_KEY, work) as Promise<T>) : work();
}

/** Trade the stored refresh token for a new pair; one exchange at a time, across tabs too (a
 * refresh token is single use: two tabs presenting the same one would revoke the sign-in). Each
 * tab reads the stored token inside the lock, so it uses the one the tab before it received. */
export function refreshSession(): Promise<boolean> {
  if (!refreshing) {
    refreshing = exclusive(async () => {
      const refresh = storedRefreshToken();
      if (!refresh) return false;
      try {
        const { payload } = await send(REFRESH, { refreshToken: refresh }, false);
        const answer = (payload.data as { tokenRefresh?: { token: string | null; refreshToken: string | null } } | undefined)?.tokenRefresh;
        if (answer?.token && answer.refreshToken) {
          setTokens(answer.token, answer.refreshToken);
          return true;
        }
      } catch {
        return false;
      }
      setTokens(null, null);
      return false;
    }).finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

const EXPIRED = new Set(["JWT_SIGNATURE_EXPIRED", "JWT_INVALID_TOKEN", "JWT_REVOKED", "JWT_REFRESH_TOKEN_REUSED"]);

export async function request<R, V>(document: TypedDocumentNode<R, V>, variables?: V): Promise<R> {
  const query = print(document);
  let { status, payload } = await send(query, variables, true);
  const code = payload.errors?.[0]?.extensions?.code;
  if (status === 401 || (code && EXPIRED.has(code))) {
    if (await refreshSession()) {
      ({ status, payload } = await send(query, variables, true));
    } else {
      setTokens(null, null);
      settings.onSignedOut();
    }
  }
  if (payload.errors?.length) {
    const first = payload.errors[0];
    throw new ApiError(first.message, first.extensions?.code, status);
  }
  if (!payload.data) throw new ApiError("The server did not answer.", "NETWORK", status);
  return payload.data as R;
}

export type FieldError = { field: string | null; code: string; message: string };

/** Payload errors by field ("" for those of the whole form). */
export function byField(errors: readonly FieldError[] | null | undefined): Record<string, string> {
  const found: Record<string, string> = {};
  for (const error of errors ?? []) {
    const key = error.field ?? "";
    found[key] = found[key] ? `${found[key]} ${error.message}` : error.message;
  }
  return found;
}
