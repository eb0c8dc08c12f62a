// Work that takes `ms` milliseconds (default 1 s).
export async function GET({ url, request }) {
  await new Promise((resolve) => {
    const work = setTimeout(resolve, Number(url.searchParams.get("ms") ?? 1_000));
    request.signal.addEventListener("abort", () => clearTimeout(work)); // the client left, or the deadline cut it
  });
  return new Response("slow work done\n");
}
