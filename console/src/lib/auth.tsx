// The signed-in merchant: tokens from tokenCreate, renewed with the single-use refresh token (kept
// in localStorage so a reload stays signed in), and `me` with the store membership.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { MeDocument, SignInDocument, SignOutDocument, type MeQuery } from "../gql/graphql";
import { ApiError, REFRESH_KEY, configureClient, refreshSession, request, setTokens, storedRefreshToken, type FieldError } from "./client";

export type Me = NonNullable<MeQuery["me"]>;
type State = { status: "loading" | "signedOut" | "signedIn"; me: Me | null };
type Auth = State & {
  signIn: (email: string, password: string) => Promise<FieldError[]>;
  signOut: () => void;
  reload: () => Promise<void>;
};

const Context = createContext<Auth | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<State>({ status: "loading", me: null });

  // Signing out revokes the sign-in on the server (its refresh and access tokens stop working at
  // once), then forgets the tokens here; a failed revocation still signs out of this browser.
  const signOut = useCallback(() => {
    const refreshToken = storedRefreshToken();
    setTokens(null, null);
    setState({ status: "signedOut", me: null });
    if (refreshToken) void request(SignOutDocument, { refreshToken }).catch(() => undefined);
  }, []);

  // Signing out in another tab signs out this one too.
  useEffect(() => {
    const onStorage = (event: StorageEvent) => {
      if (event.key === REFRESH_KEY && !event.newValue) {
        setTokens(null, null);
        setState({ status: "signedOut", me: null });
      }
    };
    window.addEventListener("storage", onStorage);
    return () => window.removeEventListener("storage", onStorage);
  }, []);

  const reload = useCallback(async () => {
    try {
      const { me } = await request(MeDocument);
      setState(me ? { status: "signedIn", me } : { status: "signedOut", me: null });
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) signOut();
      else throw error;
    }
  }, [signOut]);

  useEffect(() => {
    configureClient({ onSignedOut: () => setState({ status: "signedOut", me: null }) });
    if (!storedRefreshToken()) {
      setState({ status: "signedOut", me: null });
      return;
    }
    refreshSession().then((ok) => (ok ? reload() : setState({ status: "signedOut", me: null }))).catch(() => setState({ status: "signedOut", me: null }));
  }, [reload]);

  const signIn = useCallback(
    async (email: string, password: string) => {
      const { tokenCreate } = await request(SignInDocument, { email, password });
      if (!tokenCreate || tokenCreate.errors.length || !tokenCreate.token) return tokenCreate?.errors ?? [];
      setTokens(tokenCreate.token, tokenCreate.refreshToken);
      await reload();
      return [];
    },
    [reload],
  );

  const value = useMemo(() => ({ ...state, signIn, signOut, reload }), [state, signIn, signOut, reload]);
  return <Context.Provider value={value}>{children}</Context.Provider>;
}

export function useAuth(): Auth {
  const auth = useContext(Context);
  if (!auth) throw new Error("useAuth outside AuthProvider");
  return auth;
}

/** The signed-in merchant's store id, or null before the store exists (an applicant). */
export function useVendorId(): string | null {
  return useAuth().me?.vendorMembership?.vendor.id ?? null;
}
