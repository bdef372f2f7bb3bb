//! Sending: HTTP POST for webhooks, SMTP for email.

use super::render;
use super::{Alert, Channel, Notifier};
use hmac::{Hmac, Mac};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sha2::Sha256;

/// The header carrying the idempotency key.
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";
/// The header carrying `sha256=<hex HMAC of the body>`.
pub const SIGNATURE_HEADER: &str = "X-Redline-Signature";

fn env_secret(var: &str) -> Result<String, String> {
    std::env::var(var).map_err(|_| format!("environment variable {var} is not set"))
}

/// `sha256=` and the hex HMAC-SHA256 of `body` under `secret`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    };
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    let mut s = String::from("sha256=");
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Send one alert (or a digest of several) through a notifier. The error
/// says what went wrong, for the outbox and `redline alerts`.
pub async fn send_one(n: &Notifier, alerts: &[Alert]) -> Result<(), String> {
    let key = match alerts {
        [one] => one.idempotency_key.clone(),
        many => {
            let keys: Vec<&str> = many.iter().map(|a| a.idempotency_key.as_str()).collect();
            format!(
                "redline-digest-{}",
                &crate::extract::sha256_hex(keys.join(",").as_bytes())[..32]
            )
        }
    };
    match &n.channel {
        Channel::Webhook {
            url,
            format,
            secret_env,
        } => {
            let body = render::webhook_body(*format, alerts);
            let client = reqwest::Client::builder()
                .user_agent(crate::fetch::USER_AGENT)
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .map_err(|e| e.to_string())?;
            let mut req = client
                .post(url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header(IDEMPOTENCY_HEADER, &key);
            if let Some(var) = secret_env {
                let secret = env_secret(var)?;
                req = req.header(
                    SIGNATURE_HEADER,
                    signature(secret.as_bytes(), body.as_bytes()),
                );
            }
            let resp = req
                .body(body)
                .send()
                .await
                .map_err(|e| format!("webhook {url}: {e}"))?;
            if resp.status().is_success() {
                Ok(())
            } else {
                Err(format!(
                    "webhook {url} answered HTTP {}",
                    resp.status().as_u16()
                ))
            }
        }
        Channel::Email {
            smtp,
            starttls,
            from,
            to,
            username,
            password_env,
        } => {
            let parse = |a: &str| {
                a.parse::<Mailbox>()
                    .map_err(|e| format!("address `{a}`: {e}"))
            };
            let mut builder = Message::builder()
                .from(parse(from)?)
                .subject(render::email_subject(alerts))
                .message_id(Some(format!("<{key}@redline>")));
            for t in to {
                builder = builder.to(parse(t)?);
            }
            let message = builder
                .multipart(MultiPart::alternative_plain_html(
                    render::email_text(alerts),
                    render::email_html(alerts),
                ))
                .map_err(|e| format!("cannot build the email: {e}"))?;
            let url = reqwest::Url::parse(smtp).map_err(|e| format!("smtp URL `{smtp}`: {e}"))?;
            let host = url.host_str().unwrap_or("localhost").to_string();
            let mut transport = match (url.scheme(), starttls) {
                ("smtps", _) => AsyncSmtpTransport::<Tokio1Executor>::relay(&host)
                    .map_err(|e| e.to_string())?
                    .port(url.port().unwrap_or(465)),
                (_, true) => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&host)
                    .map_err(|e| e.to_string())?
                    .port(url.port().unwrap_or(587)),
                _ => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&host)
                    .port(url.port().unwrap_or(25)),
            };
            if let Some(user) = username {
                let password = match password_env {
                    Some(var) => env_secret(var)?,
                    None => String::new(),
                };
                transport = transport.credentials(Credentials::new(user.clone(), password));
            }
            transport
                .timeout(Some(std::time::Duration::from_secs(30)))
                .build()
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| format!("smtp {host}: {e}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_sha256_known_answer() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
