export const GET = () => new Response("hello from SvelteKit\n");
