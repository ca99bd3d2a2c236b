// The two jose functions the tokens use. lib/jwt.ts loads this module on first use; requiring it
// (rather than "jose" itself) lets the bundler keep only what these two need.
export { jwtVerify, SignJWT } from "jose";
