// Work that takes `ms` milliseconds (default 1 s).
export default async function slow(request, response) {
  await new Promise((resolve) => {
    const work = setTimeout(resolve, Number(request.query.ms ?? 1_000));
    response.on("close", () => clearTimeout(work)); // the client left, or the deadline cut it
  });
  response.status(200).send("slow work done\n");
}
