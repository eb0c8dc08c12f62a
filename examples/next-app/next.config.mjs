// The Next.js app examples/next.ts serves (pages router, three API routes).
// The rewrites give it the paths every framework recipe here answers.
export default {
  poweredByHeader: false,
  rewrites: async () => [
    { source: "/", destination: "/api/hello" },
    { source: "/slow", destination: "/api/slow" },
    { source: "/events", destination: "/api/events" },
  ],
};
