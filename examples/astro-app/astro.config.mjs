// The Astro app examples/astro.ts serves: three endpoints, built for Node in
// middleware mode (`astro build` writes dist/server/entry.mjs, which exports
// `handler`).
import node from "@astrojs/node";
import { defineConfig } from "astro/config";

export default defineConfig({ output: "server", adapter: node({ mode: "middleware" }) });
