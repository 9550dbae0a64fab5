// Files by drag and drop or by the file chooser (keyboard: the button), checked for type and size
// before anything is uploaded, with a preview of each picked file and a way to take it out again.
import { useEffect, useId, useMemo, useRef, useState, type DragEvent } from "react";
import { useI18n } from "../lib/i18n";
import { formatBytes } from "../lib/format";

export const IMAGE_TYPES = ["image/jpeg", "image/png", "image/webp"];
export const DOCUMENT_TYPES = ["application/pdf", ...IMAGE_TYPES];
export const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;

export type Refusal = { name: string; reason: "type" | "size" | "count" };

/** Which files may be uploaded and why the others may not. */
export function checkFiles(files: File[], options: { types: string[]; maxBytes: number; maxCount?: number; already?: number }) {
  const accepted: File[] = [];
  const refused: Refusal[] = [];
  for (const file of files) {
    if (!options.types.includes(file.type)) refused.push({ name: file.name, reason: "type" });
    else if (file.size > options.maxBytes) refused.push({ name: file.name, reason: "size" });
    else if (options.maxCount !== undefined && (options.already ?? 0) + accepted.length >= options.maxCount) refused.push({ name: file.name, reason: "count" });
    else accepted.push(file);
  }
  return { accepted, refused };
}

type Props = {
  label: string;
  files: File[];
  onChange: (files: File[]) => void;
  types?: string[];
  maxBytes?: number;
  maxCount?: number;
  error?: string;
};

function Preview({ file }: { file: File }) {
  const url = useMemo(() => (file.type.startsWith("image/") && typeof URL.createObjectURL === "function" ? URL.createObjectURL(file) : null), [file]);
  useEffect(() => () => { if (url) URL.revokeObjectURL(url); }, [url]);
  return url ? <img src={url} alt="" className="preview-image" /> : <span className="preview-doc" aria-hidden="true">PDF</span>;
}

export function FileDrop({ label, files, onChange, types = DOCUMENT_TYPES, maxBytes = MAX_UPLOAD_BYTES, maxCount, error }: Props) {
  const { t } = useI18n();
  const id = useId();
  const input = useRef<HTMLInputElement>(null);
  const [over, setOver] = useState(false);
  const [refused, setRefused] = useState<Refusal[]>([]);

  const add = (picked: File[]) => {
    const result = checkFiles(picked, { types, maxBytes, maxCount, already: files.length });
    setRefused(result.refused);
    if (result.accepted.length) onChange([...files, ...result.accepted]);
  };
  const onDrop = (event: DragEvent) => {
    event.preventDefault();
    setOver(false);
    add(Array.from(event.dataTransfer.files));
  };
  const kinds = types.map((type) => type.split("/")[1].toUpperCase()).join(", ");
  const reasons: Record<Refusal["reason"], string> = {
    type: t("{name}: only {kinds} files are accepted.", { name: "{name}", kinds }),
    size: t("{name}: larger than {size}.", { name: "{name}", size: formatBytes(maxBytes) }),
    count: t("{name}: at most {count} files.", { name: "{name}", count: maxCount ?? 0 }),
  };

  return (
    <div className={`field${error ? " field-invalid" : ""}`}>
      <span className="label" id={`${id}-label`}>{label}</span>
      <div
        className={`drop${over ? " drop-over" : ""}`}
        onDragOver={(event) => { event.preventDefault(); setOver(true); }}
        onDragLeave={() => setOver(false)}
        onDrop={onDrop}
        data-testid="drop-zone"
      >
        <p>{t("Drop files here, or")}</p>
        <button type="button" onClick={() => input.current?.click()} aria-describedby={`${id}-label ${id}-hint`}>{t("Choose files")}</button>
        <p className="hint" id={`${id}-hint`}>{t("{kinds}, up to {size} each.", { kinds, size: formatBytes(maxBytes) })}</p>
        <input
          ref={input}
          type="file"
          hidden
          multiple={maxCount !== 1}
          accept={types.join(",")}
          aria-labelledby={`${id}-label`}
          onChange={(event) => { add(Array.from(event.target.files ?? [])); event.target.value = ""; }}
        />
      </div>
      {refused.length > 0 && (
        <ul className="field-error" role="alert">
          {refused.map((item) => <li key={item.name + item.reason}>{reasons[item.reason].replace("{name}", item.name)}</li>)}
        </ul>
      )}
      {error && <p className="field-error" role="alert">{error}</p>}
      {files.length > 0 && (
        <ul className="previews">
          {files.map((file, index) => (
            <li key={`${file.name}-${index}`}>
              <Preview file={file} />
              <span>{file.name} <small>{formatBytes(file.size)}</small></span>
              <button type="button" className="link" onClick={() => onChange(files.filter((_, i) => i !== index))} aria-label={t("Remove {name}", { name: file.name })}>{t("Remove")}</button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
