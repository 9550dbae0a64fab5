import { useCallback, useEffect, useRef, useState } from "react";
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { request } from "./client";

/** Runs a query when its variables change; `reload` runs it again (after a mutation). */
export function useQuery<R, V>(document: TypedDocumentNode<R, V>, variables: V, skip = false) {
  const [data, setData] = useState<R | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [loading, setLoading] = useState(!skip);
  const key = JSON.stringify(variables);
  const latest = useRef(0);
  const run = useCallback(async () => {
    const ticket = ++latest.current;
    setLoading(true);
    try {
      const answer = await request(document, JSON.parse(key) as V);
      if (ticket === latest.current) {
        setData(answer);
        setError(null);
      }
    } catch (caught) {
      if (ticket === latest.current) setError(caught as Error);
    } finally {
      if (ticket === latest.current) setLoading(false);
    }
  }, [document, key]);
  useEffect(() => {
    if (!skip) void run();
  }, [run, skip]);
  return { data, error, loading, reload: run };
}
