//! nightshift-mail: everything Nightshift says to a person. The weekly report
//! is rendered here (escaping templates, charts as inline PNG) and messages
//! leave through one of the transports. Nothing here touches the database:
//! the outbox task in nightshift-tasks decides what to send and when. Its
//! settings (`DeliveryConfig`) are its own, read with nightshift-env.

mod config;
pub mod message;
pub mod report;
mod signals;
pub mod transport;

pub use config::{
    DEFAULT_RESEND_API_URL, DEFAULT_SENDGRID_API_URL, DeliveryConfig, EmailTransportKind,
};
pub use message::{Accepted, Email, InlineImage, SendError, SlackMessage, mask_address};
pub use report::{RenderError, RenderedReport, ReportData, preview_html, render};
pub use signals::{DEFAULT_PAGERDUTY_EVENTS_URL, SignalsConfig, WEBHOOK_SECRET_PREFIX};
pub use transport::{Mailer, MailerConfigError, PagerDuty, Slack, Webhook, sign_webhook};
