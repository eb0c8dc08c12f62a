// The SvelteKit app examples/sveltekit.ts serves: three endpoints, built for
// Node with adapter-node (`vite build` writes build/handler.js).
import adapter from "@sveltejs/adapter-node";
import { sveltekit } from "@sveltejs/kit/vite";

export default { plugins: [sveltekit({ adapter: adapter() })] };
