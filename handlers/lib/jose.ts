// The two jose functions the tokens use. lib/jwt.ts loads this module on first use; the bundler ships
// it as its own file beside index.js (jose.js, automation/shared/build.ts LAZY_CHUNKS), holding only these two.
export { jwtVerify, SignJWT } from "jose";
