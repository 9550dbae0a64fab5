import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, expect, it, vi } from "vitest";
import { App } from "../App";

afterEach(() => vi.unstubAllGlobals());

it("shows the server's error at the field it belongs to, in the chosen language", async () => {
  window.history.pushState({}, "", "/console/");
  window.localStorage.setItem("marketplace.console.language", "zh-Hans");
  const fetch = vi.fn(async () => new Response(JSON.stringify({ data: { tokenCreate: { token: null, refreshToken: null, errors: [{ field: "email", code: "INVALID_CREDENTIALS", message: "邮箱或密码不正确。" }] } } }), { status: 200 }));
  vi.stubGlobal("fetch", fetch);
  const user = userEvent.setup();
  render(<App />);
  await user.type(await screen.findByLabelText("电子邮箱"), "owner@example.com");
  await user.type(screen.getByLabelText("密码"), "wrong");
  await user.click(screen.getByRole("button", { name: "登录" }));
  const email = screen.getByLabelText("电子邮箱");
  await waitFor(() => expect(email.getAttribute("aria-invalid")).toBe("true"));
  const described = document.getElementById(email.getAttribute("aria-describedby")!)!;
  expect(described.textContent).toBe("邮箱或密码不正确。");
  const [, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
  expect((init.headers as Record<string, string>)["Accept-Language"]).toBe("zh-Hans");
});
