export const GET = () => new Response("hello from Astro\n");
