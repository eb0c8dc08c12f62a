export { slow as GET } from "../../../web-routes.js";
