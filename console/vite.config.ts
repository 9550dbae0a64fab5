/// <reference types="vitest" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";
import { fileURLToPath } from "node:url";

// The bundle is committed under backend/core/static/console/ and served by Django at /console/
// (index.html) and /static/console/ (assets). CONSOLE_OUT_DIR builds elsewhere, for the test that
// compares a fresh build with the committed one: the output must be the same bytes every time.
const outDir = process.env.CONSOLE_OUT_DIR || fileURLToPath(new URL("../backend/core/static/console", import.meta.url));

export default defineConfig({
  base: "/static/console/",
  plugins: [react()],
  build: {
    outDir,
    emptyOutDir: true,
    sourcemap: false,
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    rollupOptions: {
      output: {
        entryFileNames: "assets/[name]-[hash].js",
        chunkFileNames: "assets/[name]-[hash].js",
        assetFileNames: "assets/[name]-[hash][extname]",
      },
    },
  },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["src/test/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
  },
});
