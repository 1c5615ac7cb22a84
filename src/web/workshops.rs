//! Workshop pages and API: the instructor's list, create form and roster; the class's join
//! page. Instructor routes answer only a signed-in instructor (everyone else: 404).

use askama::Template;
use axum::extract::rejection::{FormRejection, JsonRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header::HOST};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use serde::{Deserialize, Serialize};

use crate::service::{Joined, Provider, Roster, Workshop, WorkshopSpec};
use crate::web::error::{ApiError, AppError, AppResult};
use crate::web::identity::CurrentLearner;
use crate::web::instructor::Instructor;
use crate::web::page::{Chrome, Page, SizedPage};
use crate::web::state::AppState;

type ApiResult<T> = Result<T, ApiError>;

/// The URL a class opens to join, from the address the instructor reached the server by.
fn join_url(headers: &HeaderMap, code: &str) -> String {
    let host = headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1:8080");
    format!("http://{host}/join/{code}")
}

/// `POST /api/v1/workshops` answer.
#[derive(Serialize)]
pub struct Created {
    id: i64,
    code: String,
    join_url: String,
}

/// `POST /api/v1/workshops` (instructor).
pub async fn create_api(
    State(state): State<AppState>,
    _instructor: Instructor,
    headers: HeaderMap,
    body: Result<Json<WorkshopSpec>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    let Json(spec) = body.map_err(AppError::from_json)?;
    let workshop = state.service.create_workshop(spec).await?;
    // The warm pool starts booting before anyone joins.
    state.service.kick_provisioning();
    Ok((
        StatusCode::CREATED,
        Json(Created {
            id: workshop.id,
            join_url: join_url(&headers, &workshop.code),
            code: workshop.code,
        }),
    ))
}

/// `GET /api/v1/workshops` (instructor).
pub async fn list_api(
    State(state): State<AppState>,
    _instructor: Instructor,
) -> ApiResult<Json<Vec<Workshop>>> {
    Ok(Json(state.service.workshops().await?))
}

/// `GET /api/v1/workshops/{id}` (instructor): the roster.
pub async fn roster_api(
    State(state): State<AppState>,
    _instructor: Instructor,
    Path(id): Path<i64>,
) -> ApiResult<Json<Roster>> {
    Ok(Json(state.service.roster(id).await?))
}

/// `DELETE /api/v1/workshops/{id}` (instructor).
pub async fn delete_api(
    State(state): State<AppState>,
    _instructor: Instructor,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    state.service.delete_workshop(id).await?;
    // Its clusters are deleted in the background.
    state.service.kick_provisioning();
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/join` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinBody {
    code: String,
    display_name: String,
}

/// `POST /api/v1/join`: the cookie's learner becomes a member.
pub async fn join_api(
    State(state): State<AppState>,
    CurrentLearner(learner): CurrentLearner,
    body: Result<Json<JoinBody>, JsonRejection>,
) -> ApiResult<Json<Joined>> {
    let Json(body) = body.map_err(AppError::from_json)?;
    Ok(Json(
        state
            .service
            .join(&learner, &body.code, &body.display_name)
            .await?,
    ))
}

/// `/instructor`: workshops and the form to create one.
#[derive(Template)]
#[template(path = "instructor.html")]
pub struct InstructorPage {
    chrome: Chrome,
    workshops: Vec<Workshop>,
    lessons: Vec<(String, String)>,
    default_image: &'static str,
}

impl SizedPage for InstructorPage {}

/// `GET /instructor`.
pub async fn home(State(state): State<AppState>, _instructor: Instructor) -> AppResult<Response> {
    let workshops = state.service.workshops().await?;
    let lessons = state
        .service
        .catalogue()
        .lessons
        .iter()
        .map(|l| (l.id.clone(), l.title.clone()))
        .collect();
    Ok(Page(InstructorPage {
        chrome: Chrome::anonymous(&state),
        workshops,
        lessons,
        default_image: crate::service::DEFAULT_IMAGE,
    })
    .into_response())
}

/// The create form.
#[derive(Debug, Deserialize)]
pub struct CreateForm {
    title: String,
    lesson: String,
    /// `kubeconfigs`, `kind` or `kubernetes`.
    #[serde(default)]
    provider: String,
    #[serde(default)]
    kubeconfigs: String,
    #[serde(default)]
    warm: String,
    #[serde(default)]
    parallel: String,
    #[serde(default)]
    management_kubeconfig: String,
    #[serde(default)]
    image: String,
    #[serde(default)]
    capacity: String,
}

/// A number field of the form: empty is `default`.
fn number_field(name: &str, value: &str, default: u32) -> AppResult<u32> {
    match value.trim() {
        "" => Ok(default),
        n => n
            .parse::<u32>()
            .map_err(|_| AppError::BadRequest(format!("{name} `{n}` is not a whole number"))),
    }
}

impl CreateForm {
    /// The provider the form describes.
    fn provider(&self) -> AppResult<Provider> {
        let warm = number_field("warm pool", &self.warm, 2)?;
        match self.provider.trim() {
            "" | "kubeconfigs" => Ok(Provider::Kubeconfigs {
                dir: self.kubeconfigs.trim().into(),
            }),
            "kind" => Ok(Provider::Kind {
                warm,
                parallel: number_field("boots at once", &self.parallel, 2)?,
                max: None,
                workers: 1,
            }),
            "kubernetes" => {
                let spec = serde_json::json!({
                    "kind": "kubernetes",
                    "warm": warm,
                    "parallel": number_field("boots at once", &self.parallel, 10)?,
                });
                let mut provider: Provider = serde_json::from_value(spec)
                    .map_err(|e| AppError::BadRequest(e.to_string()))?;
                if let Provider::Kubernetes {
                    kubeconfig, image, ..
                } = &mut provider
                {
                    let path = self.management_kubeconfig.trim();
                    *kubeconfig = (!path.is_empty()).then(|| path.into());
                    if !self.image.trim().is_empty() {
                        *image = self.image.trim().to_string();
                    }
                }
                Ok(provider)
            }
            other => Err(AppError::BadRequest(format!(
                "no provider `{other}`: choose kubeconfigs, kind or kubernetes"
            ))),
        }
    }
}

/// `POST /instructor/workshops`.
pub async fn create_form(
    State(state): State<AppState>,
    _instructor: Instructor,
    form: Result<Form<CreateForm>, FormRejection>,
) -> AppResult<Redirect> {
    let Form(form) = form.map_err(AppError::from_form)?;
    let capacity = match form.capacity.trim() {
        "" => None,
        n => Some(n.parse::<u32>().map_err(|_| {
            AppError::BadRequest(format!("capacity `{n}` is not a number of learners"))
        })?),
    };
    let provider = form.provider()?;
    let spec = WorkshopSpec {
        title: form.title,
        lesson: form.lesson,
        tasks: Vec::new(),
        provider,
        capacity,
        ends_at: None,
    };
    let workshop = state.service.create_workshop(spec).await?;
    // The warm pool starts booting before anyone joins.
    state.service.kick_provisioning();
    Ok(Redirect::to(&format!(
        "/instructor/workshops/{}",
        workshop.id
    )))
}

/// `/instructor/workshops/{id}`: the roster.
#[derive(Template)]
#[template(path = "workshop.html")]
pub struct WorkshopPage {
    chrome: Chrome,
    roster: Roster,
    join_url: String,
    task_titles: Vec<(String, String)>,
    /// One-cluster exams of the lesson: (id, title).
    exams: Vec<(String, String)>,
    /// Class exams under way or done: (title, one line per learner).
    class_exams: Vec<(String, Vec<crate::service::ClassExamRow>)>,
}

impl SizedPage for WorkshopPage {}

/// `GET /instructor/workshops/{id}`.
pub async fn roster_page(
    State(state): State<AppState>,
    _instructor: Instructor,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let roster = state.service.roster(id).await?;
    let task_titles = roster
        .workshop
        .tasks
        .iter()
        .map(|t| {
            let title = state
                .service
                .catalogue()
                .task(t)
                .map_or_else(|| t.clone(), |task| task.title.clone());
            (t.clone(), title)
        })
        .collect();
    let exams: Vec<(String, String)> = state
        .service
        .catalogue()
        .exams
        .iter()
        .filter(|e| e.contexts.len() == 1)
        .map(|e| (e.id.clone(), e.title.clone()))
        .collect();
    let mut class_exams = Vec::new();
    for (exam, title) in &exams {
        let rows = state.service.class_exam_results(id, exam).await?;
        if rows.iter().any(|r| r.attempt.is_some()) {
            class_exams.push((title.clone(), rows));
        }
    }
    Ok(Page(WorkshopPage {
        chrome: Chrome::anonymous(&state),
        join_url: join_url(&headers, &roster.workshop.code),
        roster,
        task_titles,
        exams,
        class_exams,
    })
    .into_response())
}

/// `POST /instructor/workshops/{id}/delete`.
pub async fn delete_form(
    State(state): State<AppState>,
    _instructor: Instructor,
    Path(id): Path<i64>,
) -> AppResult<Redirect> {
    state.service.delete_workshop(id).await?;
    state.service.kick_provisioning();
    Ok(Redirect::to("/instructor"))
}

/// `/join/{code}`: the class's join page.
#[derive(Template)]
#[template(path = "join.html")]
pub struct JoinPage {
    chrome: Chrome,
    code: String,
    name: String,
    joined: Option<Joined>,
}

impl SizedPage for JoinPage {}

/// `GET /join/{code}`.
pub async fn join_page(
    State(state): State<AppState>,
    CurrentLearner(learner): CurrentLearner,
    Path(code): Path<String>,
) -> AppResult<Response> {
    let chrome = Chrome::load(&state, &learner).await?;
    Ok(Page(JoinPage {
        name: chrome.learner_name.clone().unwrap_or_default(),
        chrome,
        code: code.trim().to_ascii_uppercase(),
        joined: None,
    })
    .into_response())
}

/// The join form.
#[derive(Debug, Deserialize)]
pub struct JoinForm {
    code: String,
    display_name: String,
}

/// `POST /join`.
pub async fn join_form(
    State(state): State<AppState>,
    CurrentLearner(learner): CurrentLearner,
    form: Result<Form<JoinForm>, FormRejection>,
) -> AppResult<Response> {
    let Form(form) = form.map_err(AppError::from_form)?;
    let joined = state
        .service
        .join(&learner, &form.code, &form.display_name)
        .await?;
    let chrome = Chrome::load(&state, &learner).await?;
    Ok(Page(JoinPage {
        chrome,
        code: form.code.trim().to_ascii_uppercase(),
        name: form.display_name.trim().to_string(),
        joined: Some(joined),
    })
    .into_response())
}

/// `GET /instructor/workshops/{id}/live`: roster changes as Server-Sent Events (`cell` with
/// the changed cell as JSON, `reload` when the roster or a member's exam changed). Waits on the service's class
/// events: nothing runs while nothing changes.
pub async fn live(
    State(state): State<AppState>,
    _instructor: Instructor,
    Path(id): Path<i64>,
) -> AppResult<
    axum::response::sse::Sse<
        impl futures_util::Stream<Item = Result<axum::response::sse::Event, std::convert::Infallible>>,
    >,
> {
    use crate::service::ClassEvent;
    use axum::response::sse::{Event, KeepAlive, Sse};
    state.service.workshop(id).await?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Event>(16);
    let mut events = state.service.class_events();
    let stopped = state.stopped();
    tokio::spawn(async move {
        tokio::pin!(stopped);
        loop {
            let event = tokio::select! {
                e = events.recv() => e,
                () = tx.closed() => return,
                () = &mut stopped => return,
            };
            let out = match event {
                Ok(ClassEvent::Verdict { learner, task }) => {
                    match state.service.cell_update(id, &learner, &task).await {
                        Ok(Some(update)) => Event::default()
                            .event("cell")
                            .data(serde_json::to_string(&update).unwrap_or_default()),
                        _ => continue,
                    }
                }
                // The roster changed shape, or a member's exam moved on: the page reloads.
                Ok(ClassEvent::Joined { workshop }) if workshop == id => {
                    Event::default().event("reload").data("{}")
                }
                Ok(ClassEvent::Exam { learner }) => {
                    if !state.service.is_member_of(id, &learner).await {
                        continue;
                    }
                    Event::default().event("reload").data("{}")
                }
                Ok(
                    ClassEvent::Joined { .. }
                    | ClassEvent::Message { .. }
                    | ClassEvent::Hint { .. },
                ) => continue,
                // Missed events: the page reloads to catch up.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    Event::default().event("reload").data("{}")
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            };
            if tx.send(out).await.is_err() {
                return;
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|event| (Ok(event), rx))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(crate::web::live::KEEP_ALIVE)))
}

/// `POST /api/v1/workshops/{id}/learners/{row}/tasks/{task}/reset` (instructor): resets one
/// learner's task on their own cluster; answers the steps as setup and reset do.
pub async fn reset_member_task(
    State(state): State<AppState>,
    _instructor: Instructor,
    Path((id, row, task)): Path<(i64, String, String)>,
) -> ApiResult<Json<crate::service::Outcome>> {
    Ok(Json(
        state.service.reset_member_task(id, &row, &task).await?,
    ))
}

/// `POST /instructor/workshops/{id}/learners/{row}/tasks/{task}/reset`: the same from the
/// roster page, back to it afterwards.
pub async fn reset_member_task_form(
    State(state): State<AppState>,
    _instructor: Instructor,
    Path((id, row, task)): Path<(i64, String, String)>,
) -> AppResult<Redirect> {
    state.service.reset_member_task(id, &row, &task).await?;
    Ok(Redirect::to(&format!("/instructor/workshops/{id}")))
}

/// A message to the class (or one learner, by roster row key).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageBody {
    text: String,
    #[serde(default)]
    to: Option<String>,
}

/// `POST /api/v1/workshops/{id}/messages` (instructor).
pub async fn message_api(
    State(state): State<AppState>,
    _instructor: Instructor,
    Path(id): Path<i64>,
    body: Result<Json<MessageBody>, JsonRejection>,
) -> ApiResult<StatusCode> {
    let Json(body) = body.map_err(AppError::from_json)?;
    state
        .service
        .send_message(id, body.to.as_deref(), &body.text)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The roster page's message form.
#[derive(Debug, Deserialize)]
pub struct MessageForm {
    text: String,
}

/// `POST /instructor/workshops/{id}/messages`.
pub async fn message_form(
    State(state): State<AppState>,
    _instructor: Instructor,
    Path(id): Path<i64>,
    form: Result<Form<MessageForm>, FormRejection>,
) -> AppResult<Redirect> {
    let Form(form) = form.map_err(AppError::from_form)?;
    state.service.send_message(id, None, &form.text).await?;
    Ok(Redirect::to(&format!("/instructor/workshops/{id}")))
}

/// `POST /api/v1/workshops/{id}/exams` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassExamBody {
    exam: String,
}

/// `POST /api/v1/workshops/{id}/exams` (instructor): starts the exam for every member with a
/// cluster, each on their own; one line per learner.
pub async fn start_class_exam(
    State(state): State<AppState>,
    _instructor: Instructor,
    Path(id): Path<i64>,
    body: Result<Json<ClassExamBody>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Vec<crate::service::ClassExamRow>>)> {
    let Json(body) = body.map_err(AppError::from_json)?;
    let rows = state.service.start_class_exam(id, &body.exam).await?;
    Ok((StatusCode::CREATED, Json(rows)))
}

/// `GET /api/v1/workshops/{id}/exams/{exam}` (instructor): the class's results (JSON), or
/// `.../{exam}.csv` as CSV.
pub async fn class_exam_results(
    State(state): State<AppState>,
    _instructor: Instructor,
    Path((id, exam)): Path<(i64, String)>,
) -> Result<Response, ApiError> {
    if let Some(exam) = exam.strip_suffix(".csv") {
        let rows = state.service.class_exam_results(id, exam).await?;
        let csv = crate::service::results_csv(&rows);
        return Ok((
            [
                (
                    axum::http::header::CONTENT_TYPE,
                    "text/csv; charset=utf-8".to_string(),
                ),
                (
                    axum::http::header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"workshop-{id}-{exam}.csv\""),
                ),
            ],
            csv,
        )
            .into_response());
    }
    Ok(Json(state.service.class_exam_results(id, &exam).await?).into_response())
}

/// The class exam form.
#[derive(Debug, Deserialize)]
pub struct ClassExamForm {
    exam: String,
}

/// `POST /instructor/workshops/{id}/exams`: starts the exam for the class, back to the roster.
pub async fn start_class_exam_form(
    State(state): State<AppState>,
    _instructor: Instructor,
    Path(id): Path<i64>,
    form: Result<Form<ClassExamForm>, FormRejection>,
) -> AppResult<Redirect> {
    let Form(form) = form.map_err(AppError::from_form)?;
    state.service.start_class_exam(id, &form.exam).await?;
    Ok(Redirect::to(&format!("/instructor/workshops/{id}")))
}

/// `POST /api/v1/workshops/{id}/learners/{row}/extend` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtendBody {
    minutes: u32,
}

/// The new deadline.
#[derive(Serialize)]
pub struct Extended {
    deadline_at: i64,
}

/// `POST /api/v1/workshops/{id}/learners/{row}/extend` (instructor): more time for one
/// learner's running exam.
pub async fn extend_exam(
    State(state): State<AppState>,
    _instructor: Instructor,
    Path((id, row)): Path<(i64, String)>,
    body: Result<Json<ExtendBody>, JsonRejection>,
) -> ApiResult<Json<Extended>> {
    let Json(body) = body.map_err(AppError::from_json)?;
    let deadline_at = state
        .service
        .extend_member_exam(id, &row, body.minutes)
        .await?;
    Ok(Json(Extended { deadline_at }))
}

/// How many hints are open.
#[derive(Serialize)]
pub struct Revealed {
    revealed: i64,
}

/// `POST /api/v1/workshops/{id}/tasks/{task}/hints` (instructor): opens the next hint for
/// everyone.
pub async fn reveal_hint(
    State(state): State<AppState>,
    _instructor: Instructor,
    Path((id, task)): Path<(i64, String)>,
) -> ApiResult<Json<Revealed>> {
    let revealed = state.service.reveal_hint(id, &task).await?;
    Ok(Json(Revealed { revealed }))
}

/// `POST /instructor/workshops/{id}/tasks/{task}/hints`: the same from the roster page.
pub async fn reveal_hint_form(
    State(state): State<AppState>,
    _instructor: Instructor,
    Path((id, task)): Path<(i64, String)>,
) -> AppResult<Redirect> {
    state.service.reveal_hint(id, &task).await?;
    Ok(Redirect::to(&format!("/instructor/workshops/{id}")))
}

/// How many clocks started, and the class's deadline.
#[derive(Serialize)]
pub struct ClockStarted {
    started: usize,
    deadline_at: Option<i64>,
}

/// `POST /api/v1/workshops/{id}/exams/{exam}/start` (instructor): everyone's clock at once.
pub async fn start_class_clock(
    State(state): State<AppState>,
    _instructor: Instructor,
    Path((id, exam)): Path<(i64, String)>,
) -> ApiResult<Json<ClockStarted>> {
    let (started, deadline_at) = state.service.start_class_clock(id, &exam).await?;
    Ok(Json(ClockStarted {
        started,
        deadline_at,
    }))
}

/// `POST /instructor/workshops/{id}/exams/{exam}/start`: the same from the roster page.
pub async fn start_class_clock_form(
    State(state): State<AppState>,
    _instructor: Instructor,
    Path((id, exam)): Path<(i64, String)>,
) -> AppResult<Redirect> {
    state.service.start_class_clock(id, &exam).await?;
    Ok(Redirect::to(&format!("/instructor/workshops/{id}")))
}

/// `GET /instructor/workshops/{id}/qr.svg` (instructor): the join link as a QR code, for the
/// projector.
pub async fn join_qr(
    State(state): State<AppState>,
    _instructor: Instructor,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let workshop = state.service.workshop(id).await?;
    let url = join_url(&headers, &workshop.code);
    let code = qrcode::QrCode::new(url.as_bytes()).map_err(|e| {
        AppError::Internal(format!("cannot encode the join link as a QR code: {e}"))
    })?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(240, 240)
        .build();
    Ok(([(axum::http::header::CONTENT_TYPE, "image/svg+xml")], svg).into_response())
}

/// `/instructor/workshops/{id}/learners/{row}`: one learner's cluster and latest verdicts.
#[derive(Template)]
#[template(path = "workshop-learner.html")]
pub struct MemberPage {
    chrome: Chrome,
    workshop_id: i64,
    row: String,
    name: String,
    cluster: Option<String>,
    cluster_state: crate::service::MemberCluster,
    provisioned: bool,
    /// Per task: its title and the learner's latest verdict.
    tasks: Vec<(String, Option<crate::web::task::VerdictView>)>,
    exams: Vec<crate::service::MemberExam>,
    /// Where the watch panel asks for its ticket.
    terminal_ticket_url: String,
}

impl SizedPage for MemberPage {}

/// `GET /instructor/workshops/{id}/learners/{row}`.
pub async fn member_page(
    State(state): State<AppState>,
    _instructor: Instructor,
    Path((id, row)): Path<(i64, String)>,
) -> AppResult<Response> {
    let detail = state.service.member_detail(id, &row).await?;
    let terminal_ticket_url = format!("/api/v1/workshops/{id}/learners/{row}/terminal/ticket");
    let catalogue = state.service.catalogue();
    let tasks = detail
        .tasks
        .into_iter()
        .map(|(task, run)| {
            let title = catalogue
                .task(&task)
                .map_or(task.clone(), |t| t.title.clone());
            let view = run.map(|r| crate::web::task::VerdictView::of(r, &catalogue.digest));
            (title, view)
        })
        .collect();
    Ok(Page(MemberPage {
        chrome: Chrome::anonymous(&state),
        workshop_id: id,
        row,
        name: detail.display_name,
        cluster: detail.cluster,
        cluster_state: detail.cluster_state,
        provisioned: detail.provisioned,
        tasks,
        exams: detail.exams,
        terminal_ticket_url,
    })
    .into_response())
}

/// `POST /api/v1/workshop/leave`: the learner leaves their workshop (their cluster is freed).
pub async fn leave_api(
    State(state): State<AppState>,
    CurrentLearner(learner): CurrentLearner,
) -> ApiResult<StatusCode> {
    state.service.leave_workshop(&learner).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /api/v1/workshops/{id}/learners/{row}` (instructor): removes a learner.
pub async fn remove_member_api(
    State(state): State<AppState>,
    _instructor: Instructor,
    Path((id, row)): Path<(i64, String)>,
) -> ApiResult<StatusCode> {
    state.service.remove_member(id, &row).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/workshop`: the learner's workshop and where their cluster is (`null` outside
/// one); the page banner follows a cluster being made with it.
pub async fn mine_api(
    State(state): State<AppState>,
    CurrentLearner(learner): CurrentLearner,
) -> ApiResult<Json<Option<crate::service::MyWorkshop>>> {
    Ok(Json(state.service.my_workshop(&learner).await?))
}

/// `POST /api/v1/workshop/cluster/retry`: a learner whose cluster could not be made asks
/// for a new one.
pub async fn retry_cluster_api(
    State(state): State<AppState>,
    CurrentLearner(learner): CurrentLearner,
) -> ApiResult<Json<crate::service::MemberCluster>> {
    Ok(Json(state.service.retry_my_cluster(&learner).await?))
}

/// `POST /workshop/cluster/retry`: the same from the page banner, back to the page.
pub async fn retry_cluster_form(
    State(state): State<AppState>,
    CurrentLearner(learner): CurrentLearner,
    headers: axum::http::HeaderMap,
) -> AppResult<Redirect> {
    state.service.retry_my_cluster(&learner).await?;
    Ok(Redirect::to(back_to(&headers)))
}

/// The page a form came from (same site only), else the catalogue.
fn back_to(headers: &axum::http::HeaderMap) -> &str {
    headers
        .get(axum::http::header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.find("://").map(|i| &r[i + 3..]))
        .and_then(|rest| rest.find('/').map(|i| &rest[i..]))
        .filter(|path| path.starts_with('/') && !path.starts_with("//"))
        .unwrap_or("/")
}

/// `POST /api/v1/workshops/{id}/learners/{row}/recreate` (instructor): deletes one learner's
/// cluster and gives them a new one (from the warm pool when there is one).
pub async fn recreate_cluster_api(
    State(state): State<AppState>,
    _instructor: Instructor,
    Path((id, row)): Path<(i64, String)>,
) -> ApiResult<Json<crate::service::MemberCluster>> {
    Ok(Json(state.service.recreate_member_cluster(id, &row).await?))
}

/// `POST /instructor/workshops/{id}/learners/{row}/recreate`: the same from the learner's page.
pub async fn recreate_cluster_form(
    State(state): State<AppState>,
    _instructor: Instructor,
    Path((id, row)): Path<(i64, String)>,
) -> AppResult<Redirect> {
    state.service.recreate_member_cluster(id, &row).await?;
    Ok(Redirect::to(&format!(
        "/instructor/workshops/{id}/learners/{row}"
    )))
}

/// The new attempt.
#[derive(Serialize)]
pub struct Granted {
    attempt: i64,
}

/// `POST /api/v1/workshops/{id}/learners/{row}/exams/{exam}/grant` (instructor): a new attempt
/// for a learner whose last one ended incomplete; it starts at once.
pub async fn grant_attempt_api(
    State(state): State<AppState>,
    _instructor: Instructor,
    Path((id, row, exam)): Path<(i64, String, String)>,
) -> ApiResult<(StatusCode, Json<Granted>)> {
    let attempt = state.service.grant_exam_attempt(id, &row, &exam).await?;
    Ok((StatusCode::CREATED, Json(Granted { attempt })))
}

/// `POST /instructor/workshops/{id}/learners/{row}/exams/{exam}/grant`: the same from the
/// learner's page.
pub async fn grant_attempt_form(
    State(state): State<AppState>,
    _instructor: Instructor,
    Path((id, row, exam)): Path<(i64, String, String)>,
) -> AppResult<Redirect> {
    state.service.grant_exam_attempt(id, &row, &exam).await?;
    Ok(Redirect::to(&format!(
        "/instructor/workshops/{id}/learners/{row}"
    )))
}
