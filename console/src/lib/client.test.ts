import { afterEach, describe, expect, it, vi } from "vitest";
import { MeDocument, ProductMediaCreateDocument } from "../gql/graphql";
import { byField, configureClient, extractFiles, request, setTokens, storedRefreshToken } from "./client";

type Call = { headers: Record<string, string>; body: BodyInit };
function answer(status: number, body: unknown) {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}
function stubFetch(handler: (call: Call, index: number) => Response | Promise<Response>) {
  const calls: Call[] = [];
  vi.stubGlobal("fetch", vi.fn(async (_url: string, init: RequestInit) => {
    const call = { headers: init.headers as Record<string, string>, body: init.body as BodyInit };
    calls.push(call);
    return handler(call, calls.length - 1);
  }));
  return calls;
}
const ME = { data: { me: { id: "1", email: "owner@example.com", firstName: "", lastName: "", isStaff: false, vendorMembership: null } } };
const EXPIRED = { errors: [{ message: "Signature has expired", extensions: { code: "JWT_SIGNATURE_EXPIRED" } }] };

afterEach(() => {
  vi.unstubAllGlobals();
  setTokens(null, null);
});

describe("extractFiles", () => {
  it("replaces every file by null and maps it to its variables path", () => {
    const licence = new File(["%PDF-1.4"], "licence.pdf", { type: "application/pdf" });
    const photo = new File(["x"], "a.jpg", { type: "image/jpeg" });
    const { clean, files } = extractFiles({ input: { storeName: "Jade", documents: [{ documentType: "BUSINESS_LICENSE", file: licence }], logo: photo } });
    expect(clean).toEqual({ input: { storeName: "Jade", documents: [{ documentType: "BUSINESS_LICENSE", file: null }], logo: null } });
    expect(files.map(([path, file]) => [path, file.name])).toEqual([
      ["variables.input.documents.0.file", "licence.pdf"],
      ["variables.input.logo", "a.jpg"],
    ]);
  });
});

describe("request", () => {
  it("sends the language and the token, and files as a multipart request", async () => {
    configureClient({ language: () => "zh-Hans" });
    setTokens("access-1", "refresh-1");
    const calls = stubFetch(() => answer(200, { data: { productMediaCreate: { media: { id: "m" }, errors: [] } } }));
    await request(ProductMediaCreateDocument, { product: "P1", image: new File(["img"], "p.png", { type: "image/png" }) });
    expect(calls[0].headers["Accept-Language"]).toBe("zh-Hans");
    expect(calls[0].headers.Authorization).toBe("Bearer access-1");
    expect(calls[0].headers["Content-Type"]).toBeUndefined(); // the browser sets the multipart boundary
    const form = calls[0].body as FormData;
    expect(JSON.parse(form.get("map") as string)).toEqual({ 0: ["variables.image"] });
    expect(JSON.parse(form.get("operations") as string).variables).toEqual({ product: "P1", image: null });
    expect((form.get("0") as File).name).toBe("p.png");
    configureClient({ language: () => "en" });
  });

  it("renews an expired access token once, for requests made together, and retries them", async () => {
    setTokens("old", "refresh-1");
    let refreshes = 0;
    const calls = stubFetch((call) => {
      const body = JSON.parse(call.body as string);
      if (body.query.includes("tokenRefresh")) {
        refreshes += 1;
        expect(body.variables.refreshToken).toBe("refresh-1");
        return answer(200, { data: { tokenRefresh: { token: "new", refreshToken: "refresh-2", errors: [] } } });
      }
      return call.headers.Authorization === "Bearer new" ? answer(200, ME) : answer(401, EXPIRED);
    });
    const [a, b] = await Promise.all([request(MeDocument), request(MeDocument)]);
    expect(a.me?.email).toBe("owner@example.com");
    expect(b.me?.email).toBe("owner@example.com");
    expect(refreshes).toBe(1);
    expect(storedRefreshToken()).toBe("refresh-2");
    expect(calls.filter((c) => c.headers.Authorization === "Bearer new")).toHaveLength(2);
  });

  it("refreshes under a lock shared with the other tabs, reading the token stored by the tab before", async () => {
    setTokens("old", "refresh-1");
    const held: string[] = [];
    vi.stubGlobal("navigator", { ...navigator, locks: { request: async (name: string, work: () => Promise<unknown>) => {
      held.push(name);
      // Another tab refreshed while this one waited for the lock: its new token is in storage.
      window.localStorage.setItem("marketplace.console.refresh", "refresh-from-other-tab");
      return work();
    } } });
    const sent: string[] = [];
    stubFetch((call) => {
      const body = JSON.parse(call.body as string);
      if (body.query.includes("tokenRefresh")) {
        sent.push(body.variables.refreshToken);
        return answer(200, { data: { tokenRefresh: { token: "new", refreshToken: "refresh-3", errors: [] } } });
      }
      return call.headers.Authorization === "Bearer new" ? answer(200, ME) : answer(401, EXPIRED);
    });
    await request(MeDocument);
    expect(held).toEqual(["marketplace.console.refresh"]);
    expect(sent).toEqual(["refresh-from-other-tab"]);
  });

  it("signs out when the refresh token is refused", async () => {
    setTokens("old", "used");
    const signedOut = vi.fn();
    configureClient({ onSignedOut: signedOut });
    stubFetch((call) => JSON.parse(call.body as string).query.includes("tokenRefresh")
      ? answer(200, { data: { tokenRefresh: { token: null, refreshToken: null, errors: [{ code: "JWT_REFRESH_TOKEN_REUSED" }] } } })
      : answer(401, EXPIRED));
    await expect(request(MeDocument)).rejects.toThrow("Signature has expired");
    expect(signedOut).toHaveBeenCalledOnce();
    expect(storedRefreshToken()).toBeNull();
  });

  it("throws the server's (translated) message and code", async () => {
    stubFetch(() => answer(400, { errors: [{ message: "请求过于频繁", extensions: { code: "THROTTLED" } }] }));
    await expect(request(MeDocument)).rejects.toMatchObject({ message: "请求过于频繁", code: "THROTTLED", status: 400 });
  });
});

it("groups payload errors by field", () => {
  expect(byField([{ field: "sku", code: "UNIQUE", message: "Taken." }, { field: null, code: "X", message: "Whole." }, { field: "sku", code: "INVALID", message: "Long." }])).toEqual({ sku: "Taken. Long.", "": "Whole." });
});
