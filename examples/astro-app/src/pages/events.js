export { events as GET } from "../../../web-routes.js";
