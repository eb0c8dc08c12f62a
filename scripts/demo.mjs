// npm run demo: the demo service arrives with serveAndShutdown.
console.log("The demo service (HTTP + Redis-protocol ports) arrives with serveAndShutdown.");
