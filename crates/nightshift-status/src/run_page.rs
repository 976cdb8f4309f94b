//! `GET /api/status/runs/{id}`: one run (crate::run), as JSON or, with
//! `format=html`, as the page the dashboard's runs list links to. Read
//! access as the status: the bearer or a signed-in session.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use http::{Method, StatusCode};
use nightshift_core::{App, HandleError, auth};

use crate::page::{duration, utc};
use crate::redact::Redactor;
use crate::run::{self, RunDetail};
use crate::{Format, format_of, html, only, respond};

pub const PATH: &str = "/api/status/runs/{id}";

/// Where a run's page lives: the dashboard and the run pages link here
/// (one home in the core, which the alert events link to as well).
pub fn page_url(id: &uuid::Uuid) -> String {
    nightshift_core::web::run_page_path(id)
}

pub async fn serve(State(app): State<Arc<App>>, Path(id): Path<String>, req: Request) -> Response {
    respond(answer(&app, &id, req).await)
}

async fn answer(app: &App, id: &str, req: Request) -> Result<Response, HandleError> {
    only(req.method(), &Method::GET, "GET")?;
    let format = format_of(req.uri().query())?;
    match auth::authorize_read(app, req.headers(), req.extensions()).await {
        Err(HandleError::Unauthorized) if format == Format::Html => {
            return Ok(html(
                StatusCode::UNAUTHORIZED,
                &crate::page::SignIn { error: None },
            ));
        }
        other => other?,
    };
    let id = run::parse_id(id).map_err(HandleError::BadRequest)?;
    let pool = app.db.ready().await?;
    let detail = run::fetch(pool, &app.specs(), id, &Redactor::new(&app.cfg))
        .await
        .map_err(HandleError::from_db)?
        .ok_or_else(|| HandleError::NotFound(format!("no run {id} in job_history")))?;
    Ok(match format {
        Format::Json => axum::Json(detail).into_response(),
        Format::Html => html(StatusCode::OK, &RunPage::new(&detail)),
    })
}

#[derive(Template)]
#[template(path = "run.html")]
pub struct RunPage {
    id: String,
    job_type: String,
    route: String,
    status: String,
    trigger: String,
    attempt: String,
    slot: String,
    started: String,
    completed: String,
    duration: String,
    error: String,
    more_work: String,
    tasks: Vec<TaskView>,
    follow_up: String,
    followed_by: Option<(String, String)>,
    follows: Option<(String, String)>,
}

struct TaskView {
    name: String,
    status: String,
    duration: String,
    attempts: u32,
    processed: i64,
    failed: i64,
    more_work: bool,
    error: String,
}

impl RunPage {
    pub fn new(d: &RunDetail) -> Self {
        let link = |r: &run::RunRef| {
            (
                page_url(&r.id),
                format!(
                    "{} · {} · attempt {} · {}",
                    r.status,
                    r.trigger,
                    r.attempt,
                    utc(r.started_at)
                ),
            )
        };
        Self {
            id: d.id.to_string(),
            job_type: d.job_type.clone(),
            route: d.route.clone(),
            status: d.status.clone(),
            trigger: d.trigger.clone(),
            attempt: format!("{} of at most {}", d.attempt, d.max_attempts),
            slot: match (&d.slot, &d.slot_local) {
                (Some(s), Some(l)) if l.zone != "UTC" => {
                    format!("{} ({}: {})", utc(*s), l.zone, l.local)
                }
                (Some(s), _) => utc(*s),
                (None, _) => "none (a forced run or a task subset)".into(),
            },
            started: utc(d.started_at),
            completed: d.completed_at.map_or("-".into(), utc),
            duration: duration(d.duration_ms),
            error: d.error_message.clone().unwrap_or_default(),
            more_work: d
                .more_work
                .map_or("-".into(), |m| if m { "yes" } else { "no" }.into()),
            tasks: d
                .tasks
                .iter()
                .map(|t| TaskView {
                    name: t.name.clone(),
                    status: t.status.clone(),
                    duration: duration(Some(t.duration_ms as i64)),
                    attempts: t.attempts,
                    processed: t.records_processed,
                    failed: t.records_failed,
                    more_work: t.more_work,
                    error: t
                        .error
                        .clone()
                        .or_else(|| t.warning.clone())
                        .unwrap_or_default(),
                })
                .collect(),
            follow_up: d.follow_up.as_ref().map_or("none".into(), |f| {
                let mut s = format!("{} ({})", f.kind, f.state);
                if let Some(at) = f.due_at {
                    s.push_str(&format!(", due {}", utc(at)));
                }
                if let Some(t) = &f.from_task {
                    s.push_str(&format!(", from task {t}"));
                }
                s
            }),
            followed_by: d.followed_by.as_ref().map(link),
            follows: d.follows.as_ref().map(link),
        }
    }
}
