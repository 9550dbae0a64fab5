import { useState } from "react";
import { fireEvent, render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { expect, it } from "vitest";
import { I18nProvider } from "../lib/i18n";
import { checkFiles, DOCUMENT_TYPES, FileDrop, IMAGE_TYPES } from "./FileDrop";

function Harness({ types = DOCUMENT_TYPES, maxCount }: { types?: string[]; maxCount?: number }) {
  const [files, setFiles] = useState<File[]>([]);
  return (
    <I18nProvider language="en">
      <FileDrop label="Business licence" files={files} onChange={setFiles} types={types} maxBytes={1024} maxCount={maxCount} />
      <output data-testid="picked">{files.map((f) => f.name).join(",")}</output>
    </I18nProvider>
  );
}
const file = (name: string, type: string, size = 10) => new File([new Uint8Array(size)], name, { type });

it("refuses wrong types, large files and too many before anything is uploaded", () => {
  const result = checkFiles([file("a.pdf", "application/pdf"), file("b.exe", "application/x-msdownload"), file("c.png", "image/png", 5000), file("d.jpg", "image/jpeg")], { types: DOCUMENT_TYPES, maxBytes: 1024, maxCount: 1 });
  expect(result.accepted.map((f) => f.name)).toEqual(["a.pdf"]);
  expect(result.refused).toEqual([{ name: "b.exe", reason: "type" }, { name: "c.png", reason: "size" }, { name: "d.jpg", reason: "count" }]);
});

it("takes dropped files, shows why others were refused, and previews the accepted", () => {
  render(<Harness />);
  fireEvent.drop(screen.getByTestId("drop-zone"), { dataTransfer: { files: [file("licence.pdf", "application/pdf"), file("notes.txt", "text/plain"), file("huge.jpg", "image/jpeg", 4096)] } });
  expect(screen.getByTestId("picked").textContent).toBe("licence.pdf");
  const alert = screen.getByRole("alert");
  expect(alert.textContent).toContain("notes.txt: only PDF, JPEG, PNG, WEBP files are accepted.");
  expect(alert.textContent).toContain("huge.jpg: larger than 1 KB.");
  expect(document.querySelector(".previews")!.textContent).toContain("licence.pdf");
});

it("works from the keyboard through the file chooser, and a picked file can be removed", async () => {
  const user = userEvent.setup();
  const { container } = render(<Harness types={IMAGE_TYPES} />);
  const input = container.querySelector<HTMLInputElement>('input[type="file"]')!;
  expect(input.getAttribute("accept")).toBe(IMAGE_TYPES.join(","));
  expect(screen.getByRole("button", { name: /Choose files/ })).toBeTruthy();
  await user.upload(input, file("shoe.png", "image/png"));
  expect(screen.getByTestId("picked").textContent).toBe("shoe.png");
  await user.click(screen.getByRole("button", { name: "Remove shoe.png" }));
  expect(screen.getByTestId("picked").textContent).toBe("");
});
