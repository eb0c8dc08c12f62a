export default function hello(_request, response) {
  response.status(200).send("hello from Next.js\n");
}
