// Outgoing email: SES v2 (lib/aws.ts) from SES_FROM_EMAIL, or a .eml file in EMAIL_OUTBOX_DIR (local). Every send
// writes an EmailTrackingTable row without the message body (links carry secrets). A failed send is
// logged and tracked but never fails the request that caused it.
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { functionCall } from "./aws";
import { config } from "./config";
import { ddb, PutCommand, table } from "./db";
import type { Logger } from "./log";

export type EmailTemplate = "welcome" | "password_reset" | "password_changed" | "account_locked" | "email_changed";

export interface EmailMessage {
  to: string;
  template: EmailTemplate;
  subject: string;
  text: string;
}

const TRACKING_TTL_SECONDS = 90 * 24 * 3600;

export function renderEmail(template: EmailTemplate, vars: { firstName?: string; link?: string; until?: string }): { subject: string; text: string } {
  const hello = `Hello${vars.firstName ? ` ${vars.firstName}` : ""},`;
  switch (template) {
    case "welcome":
      return {
        subject: "Welcome to the People Register",
        text: `${hello}\n\nAn account was created for you. Set your password here (the link is valid for 24 hours):\n\n${vars.link}\n`,
      };
    case "password_reset":
      return {
        subject: "Reset your People Register password",
        text: `${hello}\n\nUse this link to choose a new password:\n\n${vars.link}\n\nIf you did not ask for this, ignore this message.\n`,
      };
    case "password_changed":
      return {
        subject: "Your People Register password was changed",
        text: `${hello}\n\nYour password was just changed and your other sessions were signed out. If this was not you, reset your password now.\n`,
      };
    case "email_changed":
      return {
        subject: "Your People Register email address was changed",
        text: `${hello}\n\nThe email address of your account was just changed, so messages no longer come to this address; your other sessions were signed out. If this was not you, contact an administrator now.\n`,
      };
    case "account_locked":
      return {
        subject: "Your People Register account is locked",
        text: `${hello}\n\nAfter too many failed sign-in attempts your account is locked until ${vars.until}. If this was not you, consider resetting your password.\n`,
      };
  }
}

/** SES v2 SendEmail (REST JSON); AWS_ENDPOINT_URL_SESV2 points it at a local stand-in. */
export async function sendWithSes(from: string, message: EmailMessage): Promise<string | undefined> {
  const out = await functionCall({
    service: "ses",
    host: "email",
    endpointVariable: "AWS_ENDPOINT_URL_SESV2",
    path: "/v2/email/outbound-emails",
    headers: { "Content-Type": "application/json" },
    body: {
      FromEmailAddress: from,
      Destination: { ToAddresses: [message.to] },
      Content: { Simple: { Subject: { Data: message.subject, Charset: "UTF-8" }, Body: { Text: { Data: message.text, Charset: "UTF-8" } } } },
    },
  });
  return typeof out.body.MessageId === "string" ? out.body.MessageId : undefined;
}

function writeEml(dir: string, from: string, emailId: string, message: EmailMessage): void {
  fs.mkdirSync(dir, { recursive: true });
  const eml = [
    `From: ${from}`,
    `To: ${message.to}`,
    `Subject: ${message.subject}`,
    `Date: ${new Date().toUTCString()}`,
    `Message-ID: <${emailId}@people-register.local>`,
    `X-Template: ${message.template}`,
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: 8bit",
    "",
    message.text,
  ].join("\r\n");
  const file = path.join(dir, `${new Date().toISOString().replace(/[:.]/g, "-")}-${message.template}-${emailId}.eml`);
  fs.writeFileSync(file, eml, { mode: 0o600 });
}

export async function sendEmail(message: EmailMessage, log: Logger): Promise<boolean> {
  const cfg = config();
  const emailId = randomUUID();
  const from = cfg.sesFromEmail ?? "no-reply@people-register.local";
  let status: "sent" | "failed" | "skipped" = "sent";
  let messageId: string | undefined;
  try {
    if (cfg.emailOutboxDir) writeEml(cfg.emailOutboxDir, from, emailId, message);
    else if (cfg.sesFromEmail) messageId = await sendWithSes(cfg.sesFromEmail, message);
    else {
      status = "skipped";
      log.warn("email not sent: SES_FROM_EMAIL is not configured", { template: message.template });
    }
  } catch (err) {
    status = "failed";
    log.error("email send failed", { template: message.template, error: (err as Error).message });
  }
  const createdAt = new Date().toISOString();
  try {
    await ddb().send(
      new PutCommand({
        TableName: table("EmailTrackingTable"),
        Item: {
          emailId,
          recipientEmail: message.to,
          templateType: message.template,
          status,
          subject: message.subject,
          createdAt,
          ...(messageId ? { messageId } : {}),
          ttl: Math.floor(Date.now() / 1000) + TRACKING_TTL_SECONDS,
        },
      }),
    );
  } catch (err) {
    log.error("email tracking write failed", { template: message.template, error: (err as Error).message });
  }
  return status === "sent";
}
