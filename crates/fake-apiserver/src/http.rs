//! The HTTP surface: routing, faults, discovery, CRUD, content negotiation, logs.

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use tokio::sync::watch;

use crate::FakeCluster;
use crate::lifecycle;
use crate::patch::{json_patch, merge_patch, strategic_merge_patch};
use crate::resources::{
    AGGREGATED_DISCOVERY, ResourceType, aggregated_discovery, api_group_doc, api_group_list,
    api_resource_list, api_versions, openapi_v3_doc, openapi_v3_root, version_info,
};
use crate::selector::{FieldSelector, LabelSelector};
use crate::status::ApiError;
use crate::store::{Inner, ObjectKey, namespace_defaults};
use crate::table::{IncludeObject, partial_metadata, table};
use crate::util::{Query, new_uid, now_rfc3339, random_suffix};

/// Per-server state handed to every request.
#[derive(Clone)]
pub(crate) struct Ctx {
    pub(crate) cluster: FakeCluster,
    pub(crate) addr: SocketAddr,
    /// Becomes `true` when the server stops.
    pub(crate) stop: watch::Receiver<bool>,
}

pub(crate) fn router(ctx: Ctx) -> Router {
    Router::new().fallback(handle).with_state(ctx)
}

/// A request for a resource collection, an object, or an object's subresource.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) rt: ResourceType,
    pub(crate) namespace: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) sub: Option<String>,
}

impl Target {
    fn key(&self, name: &str) -> ObjectKey {
        ObjectKey::new(
            &self.rt.api_version(),
            &self.rt.kind,
            self.namespace.as_deref(),
            name,
        )
    }
}

#[derive(Debug)]
enum Route {
    Version,
    Health,
    Api,
    Apis,
    Group(String),
    GroupVersion(String, String),
    OpenApiV3,
    OpenApiV3Doc(String),
    Resource(Target),
    NotFound,
}

fn parse_route(inner: &Inner, path: &str) -> Route {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segs.as_slice() {
        ["version"] => Route::Version,
        ["healthz" | "livez" | "readyz", ..] => Route::Health,
        ["api"] => Route::Api,
        ["apis"] => Route::Apis,
        ["apis", group] => Route::Group(group.to_string()),
        ["openapi", "v3"] => Route::OpenApiV3,
        ["openapi", "v3", rest @ ..] => Route::OpenApiV3Doc(rest.join("/")),
        ["api", version, rest @ ..] => resource_route(inner, "", version, rest),
        ["apis", group, version, rest @ ..] => resource_route(inner, group, version, rest),
        _ => Route::NotFound,
    }
}

fn resource_route(inner: &Inner, group: &str, version: &str, rest: &[&str]) -> Route {
    let lookup = |plural: &str| inner.resource_by_plural(group, version, plural).cloned();
    let target = |rt: ResourceType, ns: Option<&str>, tail: &[&str]| -> Route {
        let (name, sub) = match tail {
            [] => (None, None),
            [name] => (Some(name.to_string()), None),
            [name, sub] => (Some(name.to_string()), Some(sub.to_string())),
            _ => return Route::NotFound,
        };
        let sub_ok = match sub.as_deref() {
            None => true,
            Some("status") => rt.has_status,
            Some("log" | "exec") => rt.group.is_empty() && rt.plural == "pods",
            Some(_) => false,
        };
        if !sub_ok {
            return Route::NotFound;
        }
        Route::Resource(Target {
            rt,
            namespace: ns.map(str::to_string),
            name,
            sub,
        })
    };
    match rest {
        [] => Route::GroupVersion(group.to_string(), version.to_string()),
        ["namespaces", ns, plural, tail @ ..] if lookup(plural).is_some_and(|rt| rt.namespaced) => {
            match lookup(plural) {
                Some(rt) => target(rt, Some(ns), tail),
                None => Route::NotFound,
            }
        }
        [plural, tail @ ..] => match lookup(plural) {
            Some(rt) if rt.namespaced && !tail.is_empty() => Route::NotFound,
            Some(rt) => target(rt, None, tail),
            None => Route::NotFound,
        },
    }
}

/// How the client wants objects rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Output {
    Json,
    Table(IncludeObject),
    Metadata,
}

impl Output {
    pub(crate) fn negotiate(headers: &HeaderMap, query: &Query) -> Output {
        let accept = headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        for entry in accept.split(',') {
            let e = entry.trim().to_ascii_lowercase();
            if e.contains("as=table") {
                let include = match query.get("includeObject") {
                    Some("None") => IncludeObject::None,
                    Some("Object") => IncludeObject::Object,
                    _ => IncludeObject::Metadata,
                };
                return Output::Table(include);
            }
            if e.contains("as=partialobjectmetadata") {
                return Output::Metadata;
            }
            if e.starts_with("application/json") || e.starts_with("*/*") {
                return Output::Json;
            }
        }
        Output::Json
    }

    /// Renders one object.
    pub(crate) fn object(self, rt: &ResourceType, object: &Value, rv: u64) -> Value {
        match self {
            Output::Json => object.clone(),
            Output::Metadata => partial_metadata(object),
            Output::Table(include) => table(
                &rt.kind,
                std::slice::from_ref(object),
                json!({"resourceVersion": rv.to_string()}),
                include,
                true,
            ),
        }
    }
}

pub(crate) fn json_response(code: u16, value: &Value) -> Response {
    let body = serde_json::to_vec(value).unwrap_or_default();
    (
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

pub(crate) fn error_response(e: &ApiError) -> Response {
    json_response(e.code, &e.to_json())
}

fn text_response(text: String) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain")],
        Body::from(text),
    )
        .into_response()
}

async fn handle(State(ctx): State<Ctx>, req: Request) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let raw_query = req.uri().query().unwrap_or_default().to_string();
    ctx.cluster
        .record_request(method.as_str(), &path, &raw_query);
    #[cfg(feature = "tracing")]
    tracing::debug!(%method, %path, query = %raw_query, "fake-apiserver request");
    let query = Query::parse(&raw_query);
    let route = parse_route(&ctx.cluster.lock(), &path);

    let target = if raw_query.is_empty() {
        path.clone()
    } else {
        format!("{path}?{raw_query}")
    };
    let (delay, status) = ctx.cluster.match_faults(method.as_str(), &target);
    if !delay.is_zero() {
        let mut stop = ctx.stop.clone();
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = crate::util::raised(&mut stop) => {
                return error_response(&ApiError::new(503, "fake-apiserver is shutting down"));
            }
        }
    }
    if let Some(code) = status {
        return error_response(&fault_error(code, &method, &route, &query, &path));
    }
    match dispatch(&ctx, method, route, query, req).await {
        Ok(response) => response,
        Err(e) => error_response(&e),
    }
}

fn verb(method: &Method, has_name: bool, query: &Query) -> String {
    match (method.as_str(), has_name) {
        ("GET", true) => "get".into(),
        ("GET", false) if query.flag("watch") => "watch".into(),
        ("GET", false) => "list".into(),
        ("POST", _) => "create".into(),
        ("PUT", _) => "update".into(),
        ("PATCH", _) => "patch".into(),
        ("DELETE", true) => "delete".into(),
        ("DELETE", false) => "deletecollection".into(),
        (m, _) => m.to_ascii_lowercase(),
    }
}

/// The Status an injected fault answers with, worded like the real server's.
fn fault_error(code: u16, method: &Method, route: &Route, query: &Query, path: &str) -> ApiError {
    let target = match route {
        Route::Resource(t) => Some(t),
        _ => None,
    };
    let name = target.and_then(|t| t.name.clone()).unwrap_or_default();
    match (code, target) {
        (401, _) => ApiError::new(401, "Unauthorized"),
        (403, Some(t)) => {
            let resource = match &t.sub {
                Some(sub) => format!("{}/{sub}", t.rt.plural),
                None => t.rt.plural.clone(),
            };
            let subject = if name.is_empty() {
                t.rt.qualified_plural()
            } else {
                format!("{} \"{name}\"", t.rt.qualified_plural())
            };
            let scope = match &t.namespace {
                Some(ns) => format!("in the namespace \"{ns}\""),
                None => "at the cluster scope".to_string(),
            };
            ApiError::new(
                403,
                format!(
                    "{subject} is forbidden: User \"fake-user\" cannot {} resource \"{resource}\" in API group \"{}\" {scope}",
                    verb(method, t.name.is_some(), query),
                    t.rt.group
                ),
            )
            .about(&t.rt, &name)
        }
        (403, None) => ApiError::new(
            403,
            format!(
                "forbidden: User \"fake-user\" cannot {} path \"{path}\"",
                verb(method, true, query)
            ),
        ),
        (404, Some(t)) if !name.is_empty() => ApiError::not_found(&t.rt, &name),
        (404, _) => ApiError::no_route(),
        (409, Some(t)) if *method == Method::POST => ApiError::already_exists(&t.rt, &name),
        (409, Some(t)) => ApiError::conflict(&t.rt, &name),
        (410, _) => ApiError::new(410, "too old resource version"),
        (429, _) => ApiError::new(429, "Too many requests, please try again later."),
        (500, _) => ApiError::new(
            500,
            "Internal error occurred: fake-apiserver injected fault",
        ),
        (503, _) => ApiError::new(503, "the server is currently unable to handle the request"),
        (504, _) => ApiError::new(
            504,
            "Timeout: request did not complete within requested timeout - context deadline exceeded",
        ),
        (code, _) => ApiError::new(code, format!("fake-apiserver injected fault: HTTP {code}")),
    }
}

/// Whether the client's first choice is aggregated discovery v2.
fn wants_aggregated(headers: &HeaderMap) -> bool {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let first = accept.split(',').next().unwrap_or("").to_ascii_lowercase();
    first.contains("as=apigroupdiscoverylist")
        && first.contains("v=v2")
        && !first.contains("v=v2beta1")
}

async fn dispatch(
    ctx: &Ctx,
    method: Method,
    route: Route,
    query: Query,
    req: Request,
) -> Result<Response, ApiError> {
    let get_only = |doc: Option<Value>| -> Result<Response, ApiError> {
        if method != Method::GET {
            return Err(ApiError::new(
                405,
                "the server does not allow this method on the requested resource",
            ));
        }
        doc.map(|d| json_response(200, &d))
            .ok_or_else(ApiError::no_route)
    };
    match route {
        Route::Version => get_only(Some(version_info())),
        Route::Health => Ok(text_response("ok".into())),
        Route::Api | Route::Apis if method == Method::GET && wants_aggregated(req.headers()) => {
            let core = matches!(route, Route::Api);
            let doc = aggregated_discovery(&ctx.cluster.lock().resources, core);
            let body = serde_json::to_vec(&doc).unwrap_or_default();
            Ok((
                StatusCode::OK,
                [(header::CONTENT_TYPE, AGGREGATED_DISCOVERY)],
                body,
            )
                .into_response())
        }
        Route::Api => get_only(Some(api_versions(&ctx.addr.to_string()))),
        Route::Apis => {
            let doc = api_group_list(&ctx.cluster.lock().resources);
            get_only(Some(doc))
        }
        Route::Group(g) => {
            let doc = api_group_doc(&ctx.cluster.lock().resources, &g);
            get_only(doc)
        }
        Route::GroupVersion(g, v) => {
            let doc = api_resource_list(&ctx.cluster.lock().resources, &g, &v);
            get_only(doc)
        }
        Route::OpenApiV3 => {
            let doc = openapi_v3_root(&ctx.cluster.lock().resources);
            get_only(Some(doc))
        }
        Route::OpenApiV3Doc(prefix) => {
            let doc = openapi_v3_doc(&ctx.cluster.lock().resources, &prefix);
            get_only(doc)
        }
        Route::NotFound => Err(ApiError::no_route()),
        Route::Resource(t) => resource(ctx, method, t, query, req).await,
    }
}

async fn read_body(req: Request) -> Result<(HeaderMap, Vec<u8>), ApiError> {
    let (parts, body) = req.into_parts();
    decodable(&parts.headers)?;
    let bytes = axum::body::to_bytes(body, 32 << 20)
        .await
        .map_err(|e| ApiError::new(413, format!("cannot read the request body: {e}")))?;
    Ok((parts.headers, bytes.to_vec()))
}

fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Rejects bodies the fake cannot decode (protobuf) with 415, which makes client-go
/// (kubectl) fall back to JSON.
fn decodable(headers: &HeaderMap) -> Result<(), ApiError> {
    let ct = content_type(headers);
    if ct.contains("protobuf") || ct.contains("cbor") {
        return Err(ApiError::new(
            415,
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (fake-apiserver does not decode {ct})"
            ),
        ));
    }
    Ok(())
}

fn parse_body(bytes: &[u8], yaml: bool) -> Result<Value, ApiError> {
    let parsed = if yaml {
        serde_yaml_ng::from_slice::<Value>(bytes).map_err(|e| e.to_string())
    } else {
        serde_json::from_slice::<Value>(bytes).map_err(|e| e.to_string())
    };
    parsed.map_err(|e| {
        ApiError::bad_request(format!("the body of the request could not be decoded: {e}"))
    })
}

async fn resource(
    ctx: &Ctx,
    method: Method,
    t: Target,
    query: Query,
    req: Request,
) -> Result<Response, ApiError> {
    let output = Output::negotiate(req.headers(), &query);
    let name = t.name.clone();
    let sub = t.sub.clone();
    match (name.as_deref(), sub.as_deref(), method.as_str()) {
        (None, None, "GET") if query.flag("watch") => {
            Ok(crate::watch::serve(ctx, t, &query, output))
        }
        (None, None, "GET") => list(ctx, &t, &query, output),
        (None, None, "POST") => {
            let (headers, body) = read_body(req).await?;
            let object = parse_body(&body, content_type(&headers).contains("yaml"))?;
            create(ctx, &t, object, &query)
        }
        (None, None, "DELETE") => delete_collection(ctx, &t, &query),
        (Some(name), None | Some("status"), "GET") => get(ctx, &t, name, output),
        (Some(name), None | Some("status"), "PUT") => {
            let (headers, body) = read_body(req).await?;
            let object = parse_body(&body, content_type(&headers).contains("yaml"))?;
            update(ctx, &t, name, object, &query)
        }
        (Some(name), None | Some("status"), "PATCH") => {
            let (headers, body) = read_body(req).await?;
            patch(ctx, &t, name, &content_type(&headers), &body, &query)
        }
        (Some(name), None, "DELETE") => {
            let (_, body) = read_body(req).await?;
            delete(ctx, &t, name, &query, &body)
        }
        (Some(name), Some("log"), "GET") => logs(ctx, &t, name, &query),
        (Some(name), Some("exec"), "GET" | "POST") => {
            Ok(crate::exec::serve(ctx, &t, name, &query, req).await)
        }
        _ => Err(ApiError::new(
            405,
            "the server does not allow this method on the requested resource",
        )),
    }
}

pub(crate) fn selectors(
    rt: &ResourceType,
    query: &Query,
) -> Result<(LabelSelector, FieldSelector), ApiError> {
    let labels = LabelSelector::parse(query.get("labelSelector").unwrap_or(""))
        .map_err(ApiError::bad_request)?;
    let fields = FieldSelector::parse(query.get("fieldSelector").unwrap_or(""), &rt.kind)
        .map_err(ApiError::bad_request)?;
    Ok((labels, fields))
}

fn strip_type_meta(mut object: Value) -> Value {
    if let Some(o) = object.as_object_mut() {
        o.remove("apiVersion");
        o.remove("kind");
    }
    object
}

fn list(ctx: &Ctx, t: &Target, query: &Query, output: Output) -> Result<Response, ApiError> {
    let (labels, fields) = selectors(&t.rt, query)?;
    let api_version = t.rt.api_version();
    let (items, rv) = {
        let inner = ctx.cluster.lock();
        let items: Vec<Value> = inner
            .objects_of(&api_version, &t.rt.kind, t.namespace.as_deref())
            .filter(|(_, o)| labels.matches(o) && fields.matches(o))
            .map(|(_, o)| o.clone())
            .collect();
        (items, inner.rv)
    };
    let offset = match query.get("continue").filter(|c| !c.is_empty()) {
        Some(token) => token
            .rsplit_once('-')
            .and_then(|(_, n)| n.parse::<usize>().ok())
            .ok_or_else(|| ApiError::bad_request("continue key is not valid"))?,
        None => 0,
    };
    let limit = query
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| *l > 0)
        .unwrap_or(usize::MAX);
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(offset).take(limit).collect();
    let next = offset + page.len();
    let mut meta = Map::new();
    meta.insert("resourceVersion".into(), json!(rv.to_string()));
    if next < total {
        meta.insert("continue".into(), json!(format!("fake-{rv}-{next}")));
        meta.insert("remainingItemCount".into(), json!(total - next));
    }
    let meta = Value::Object(meta);
    let doc = match output {
        Output::Json => json!({
            "kind": t.rt.list_kind(),
            "apiVersion": t.rt.api_version(),
            "metadata": meta,
            "items": page.into_iter().map(strip_type_meta).collect::<Vec<_>>(),
        }),
        Output::Metadata => json!({
            "kind": "PartialObjectMetadataList",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": meta,
            "items": page.iter().map(partial_metadata).collect::<Vec<_>>(),
        }),
        Output::Table(include) => table(&t.rt.kind, &page, meta, include, true),
    };
    Ok(json_response(200, &doc))
}

fn get(ctx: &Ctx, t: &Target, name: &str, output: Output) -> Result<Response, ApiError> {
    let inner = ctx.cluster.lock();
    let object = inner
        .objects
        .get(&t.key(name))
        .ok_or_else(|| ApiError::not_found(&t.rt, name))?;
    Ok(json_response(200, &output.object(&t.rt, object, inner.rv)))
}

/// Kinds whose `metadata.generation` the server maintains (spec changes bump it).
fn tracks_generation(rt: &ResourceType) -> bool {
    matches!(rt.group.as_str(), "apps" | "batch" | "networking.k8s.io")
}

/// The status a freshly created object gets (the request's status is ignored).
fn initial_status(rt: &ResourceType) -> Value {
    match (rt.group.as_str(), rt.kind.as_str()) {
        ("", "Pod") => json!({"phase": "Pending", "qosClass": "BestEffort"}),
        ("", "Namespace") => json!({"phase": "Active"}),
        _ => json!({}),
    }
}

/// Checks the object's apiVersion/kind/namespace/name against the URL and fills them in.
fn check_identity(t: &Target, object: &mut Value, name: Option<&str>) -> Result<(), ApiError> {
    let Some(obj) = object.as_object_mut() else {
        return Err(ApiError::bad_request("the request body must be an object"));
    };
    let api_version = t.rt.api_version();
    match obj.get("apiVersion").and_then(Value::as_str) {
        Some(v) if v != api_version => {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({v}) does not match the expected API version ({api_version})"
            )));
        }
        _ => {
            obj.insert("apiVersion".into(), json!(api_version));
        }
    }
    match obj.get("kind").and_then(Value::as_str) {
        Some(k) if k != t.rt.kind => {
            return Err(ApiError::bad_request(format!(
                "the kind in the data ({k}) does not match the expected kind ({})",
                t.rt.kind
            )));
        }
        _ => {
            obj.insert("kind".into(), json!(t.rt.kind));
        }
    }
    let meta = obj
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(meta) = meta.as_object_mut() else {
        return Err(ApiError::bad_request("metadata must be an object"));
    };
    match (
        meta.get("namespace").and_then(Value::as_str),
        t.namespace.as_deref(),
    ) {
        (Some(body_ns), Some(url_ns)) if !body_ns.is_empty() && body_ns != url_ns => {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        (_, Some(url_ns)) => {
            meta.insert("namespace".into(), json!(url_ns));
        }
        (_, None) => {
            meta.remove("namespace");
        }
    }
    if let Some(url_name) = name {
        match meta.get("name").and_then(Value::as_str) {
            Some(n) if !n.is_empty() && n != url_name => {
                return Err(ApiError::bad_request(format!(
                    "the name of the object ({n}) does not match the name on the URL ({url_name})"
                )));
            }
            _ => {
                meta.insert("name".into(), json!(url_name));
            }
        }
    }
    meta.remove("managedFields");
    Ok(())
}

fn object_name(object: &Value) -> String {
    object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn request_rv(object: &Value) -> Option<String> {
    object
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn set_meta(object: &mut Value, field: &str, value: Value) {
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert(field.into(), value);
    }
}

/// Makes a new object (or new version of one) what the server would store: server-owned
/// metadata from the old version, status handling for types with a status subresource,
/// generation bumps.
fn finish_write(t: &Target, old: Option<&Value>, mut new: Value, status_only: bool) -> Value {
    if status_only {
        let mut merged = old.cloned().unwrap_or(Value::Null);
        if let Some(o) = merged.as_object_mut() {
            match new.get("status") {
                Some(s) => {
                    o.insert("status".into(), s.clone());
                }
                None => {
                    o.remove("status");
                }
            }
        }
        return merged;
    }
    if t.rt.has_status
        && let Some(o) = new.as_object_mut()
    {
        let status = match old {
            Some(old) => old.get("status").cloned(),
            None => Some(initial_status(&t.rt)),
        };
        match status {
            Some(s) => {
                o.insert("status".into(), s);
            }
            None => {
                o.remove("status");
            }
        }
    }
    let old_meta = old.and_then(|o| o.get("metadata"));
    match old_meta {
        Some(old_meta) => {
            for field in [
                "uid",
                "creationTimestamp",
                "managedFields",
                "deletionTimestamp",
            ] {
                match old_meta.get(field) {
                    Some(v) => set_meta(&mut new, field, v.clone()),
                    None => {
                        if let Some(m) = new.get_mut("metadata").and_then(Value::as_object_mut) {
                            m.remove(field);
                        }
                    }
                }
            }
        }
        None => {
            if let Some(m) = new.get_mut("metadata").and_then(Value::as_object_mut) {
                for field in ["resourceVersion", "deletionTimestamp", "generation"] {
                    m.remove(field);
                }
            }
            set_meta(&mut new, "uid", json!(new_uid()));
            set_meta(&mut new, "creationTimestamp", json!(now_rfc3339()));
        }
    }
    if tracks_generation(&t.rt) {
        let old_generation = old_meta
            .and_then(|m| m.get("generation"))
            .and_then(Value::as_i64);
        let generation = match (old, old_generation) {
            (None, _) => 1,
            (Some(old), g) => {
                let g = g.unwrap_or(1);
                if old.get("spec") != new.get("spec") {
                    g + 1
                } else {
                    g
                }
            }
        };
        set_meta(&mut new, "generation", json!(generation));
    }
    if t.rt.group.is_empty()
        && t.rt.kind == "Namespace"
        && let Some(name) = new.pointer("/metadata/name").and_then(Value::as_str)
    {
        let name = name.to_string();
        namespace_defaults(&mut new, &name);
    }
    new
}

fn dry_run(query: &Query) -> bool {
    query.get("dryRun").is_some_and(|v| v == "All")
}

fn store(inner: &mut Inner, object: Value, query: &Query) -> Result<Value, ApiError> {
    if dry_run(query) {
        return Ok(object);
    }
    inner
        .put(object)
        .ok_or_else(|| ApiError::new(500, "the object could not be stored"))
}

fn create(ctx: &Ctx, t: &Target, mut object: Value, query: &Query) -> Result<Response, ApiError> {
    check_identity(t, &mut object, None)?;
    if object_name(&object).is_empty() {
        let generate = object
            .pointer("/metadata/generateName")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if generate.is_empty() {
            return Err(ApiError::invalid(
                &t.rt,
                "",
                "metadata.name: Required value: name or generateName is required",
            ));
        }
        set_meta(
            &mut object,
            "name",
            json!(format!("{generate}{}", random_suffix(5))),
        );
    }
    let name = object_name(&object);
    let mut inner = ctx.cluster.lock();
    admit_create(&inner, t, &name)?;
    bind_to_node(&inner, t, &mut object);
    if inner.objects.contains_key(&t.key(&name)) {
        return Err(ApiError::already_exists(&t.rt, &name));
    }
    let object = finish_write(t, None, object, false);
    let stored = store(&mut inner, object, query)?;
    Ok(json_response(201, &stored))
}

fn update(
    ctx: &Ctx,
    t: &Target,
    name: &str,
    mut object: Value,
    query: &Query,
) -> Result<Response, ApiError> {
    check_identity(t, &mut object, Some(name))?;
    let mut inner = ctx.cluster.lock();
    let old = inner
        .objects
        .get(&t.key(name))
        .cloned()
        .ok_or_else(|| ApiError::not_found(&t.rt, name))?;
    if let Some(rv) = request_rv(&object)
        && Some(rv) != request_rv(&old)
    {
        return Err(ApiError::conflict(&t.rt, name));
    }
    let status_only = t.sub.as_deref() == Some("status");
    admit_update(t, name, &old, &object, status_only)?;
    let object = finish_write(t, Some(&old), object, status_only);
    let stored = store(&mut inner, object, query)?;
    Ok(json_response(200, &stored))
}

/// What admission refuses before a create: a missing namespace (404) and, as the
/// NamespaceLifecycle plugin does, a namespace being deleted (403).
fn admit_create(inner: &Inner, t: &Target, name: &str) -> Result<(), ApiError> {
    let Some(ns) = &t.namespace else {
        return Ok(());
    };
    if !inner.namespace_exists(ns) {
        let ns_type = ResourceType::new("v1", "namespaces", "Namespace", false);
        return Err(ApiError::not_found(&ns_type, ns));
    }
    if inner.namespace_terminating(ns) {
        return Err(ApiError::new(
            403,
            format!(
                "{} \"{}\" is forbidden: {}",
                t.rt.qualified_plural(),
                name,
                lifecycle::terminating_message(ns)
            ),
        )
        .about(&t.rt, name));
    }
    Ok(())
}

/// Binds a new Pod to a node as the scheduler would, unless it names one already.
fn bind_to_node(inner: &Inner, t: &Target, pod: &mut Value) {
    let unbound = pod
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty);
    if !(t.rt.group.is_empty() && t.rt.kind == "Pod" && unbound) {
        return;
    }
    if let Some(node) = lifecycle::schedule(inner, pod)
        && let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut)
    {
        spec.insert("nodeName".into(), json!(node));
    }
}

/// Pod update validation: only images, the active deadline, added tolerations and the grace
/// period may change in a Pod's spec (422 otherwise, with the real message).
fn admit_update(
    t: &Target,
    name: &str,
    old: &Value,
    new: &Value,
    status_only: bool,
) -> Result<(), ApiError> {
    if status_only || !(t.rt.group.is_empty() && t.rt.kind == "Pod") {
        return Ok(());
    }
    match lifecycle::pod_update_refusal(old, new) {
        Some(message) => Err(ApiError::invalid(&t.rt, name, &message)),
        None => Ok(()),
    }
}

fn set_managed_fields(object: &mut Value, manager: &str, api_version: &str, subresource: bool) {
    let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let mut entries: Vec<Value> = meta
        .get("managedFields")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    entries.retain(|e| {
        e.get("manager").and_then(Value::as_str) != Some(manager)
            || e.get("operation").and_then(Value::as_str) != Some("Apply")
    });
    let mut entry = json!({
        "manager": manager,
        "operation": "Apply",
        "apiVersion": api_version,
        "time": now_rfc3339(),
        "fieldsType": "FieldsV1",
        "fieldsV1": {},
    });
    if subresource && let Some(e) = entry.as_object_mut() {
        e.insert("subresource".into(), json!("status"));
    }
    entries.push(entry);
    meta.insert("managedFields".into(), Value::Array(entries));
}

fn patch(
    ctx: &Ctx,
    t: &Target,
    name: &str,
    content_type: &str,
    body: &[u8],
    query: &Query,
) -> Result<Response, ApiError> {
    let status_only = t.sub.as_deref() == Some("status");
    let is_apply = content_type == "application/apply-patch+yaml";
    let patch_doc = match content_type {
        "application/apply-patch+yaml" => parse_body(body, true)?,
        "application/merge-patch+json"
        | "application/strategic-merge-patch+json"
        | "application/json-patch+json" => parse_body(body, false)?,
        other => {
            return Err(ApiError::new(
                415,
                format!(
                    "the body of the request was in an unknown format ({other}) - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json"
                ),
            ));
        }
    };
    let mut inner = ctx.cluster.lock();
    let old = inner.objects.get(&t.key(name)).cloned();
    if is_apply {
        let manager = query.get("fieldManager").unwrap_or_default().to_string();
        if manager.is_empty() {
            return Err(ApiError::new(
                422,
                "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
            ));
        }
        let mut config = patch_doc;
        if config.get("apiVersion").is_none() || config.get("kind").is_none() {
            return Err(ApiError::bad_request(
                "invalid object type: apiVersion and kind are required in an apply patch",
            ));
        }
        check_identity(t, &mut config, Some(name))?;
        if let Some(rv) = request_rv(&config)
            && Some(rv) != old.as_ref().and_then(request_rv)
        {
            return Err(ApiError::conflict(&t.rt, name));
        }
        let (code, object) = match &old {
            None => {
                if status_only {
                    return Err(ApiError::not_found(&t.rt, name));
                }
                admit_create(&inner, t, name)?;
                bind_to_node(&inner, t, &mut config);
                (201, finish_write(t, None, config, false))
            }
            Some(old) => {
                let mut merged = old.clone();
                if let Some(m) = config.get_mut("metadata").and_then(Value::as_object_mut) {
                    m.remove("resourceVersion");
                }
                strategic_merge_patch(&mut merged, &config);
                admit_update(t, name, old, &merged, status_only)?;
                (200, finish_write(t, Some(old), merged, status_only))
            }
        };
        let mut object = object;
        set_managed_fields(&mut object, &manager, &t.rt.api_version(), status_only);
        let stored = store(&mut inner, object, query)?;
        return Ok(json_response(code, &stored));
    }
    let old = old.ok_or_else(|| ApiError::not_found(&t.rt, name))?;
    let mut patched = old.clone();
    match content_type {
        "application/json-patch+json" => json_patch(&mut patched, &patch_doc).map_err(|e| {
            ApiError::new(
                422,
                format!("the server rejected our request due to an error in our request: {e}"),
            )
        })?,
        "application/merge-patch+json" => merge_patch(&mut patched, &patch_doc),
        _ => strategic_merge_patch(&mut patched, &patch_doc),
    }
    if let Some(rv) = request_rv(&patched)
        && Some(rv) != request_rv(&old)
    {
        return Err(ApiError::conflict(&t.rt, name));
    }
    check_identity(t, &mut patched, Some(name))?;
    admit_update(t, name, &old, &patched, status_only)?;
    let object = finish_write(t, Some(&old), patched, status_only);
    let stored = store(&mut inner, object, query)?;
    Ok(json_response(200, &stored))
}

/// The grace period a delete asks for: `?gracePeriodSeconds=` or DeleteOptions in the body.
fn requested_grace(query: &Query, body: &[u8]) -> Option<i64> {
    query
        .get("gracePeriodSeconds")
        .and_then(|g| g.parse().ok())
        .or_else(|| {
            serde_json::from_slice::<Value>(body)
                .ok()?
                .get("gracePeriodSeconds")?
                .as_i64()
        })
}

fn delete(
    ctx: &Ctx,
    t: &Target,
    name: &str,
    query: &Query,
    body: &[u8],
) -> Result<Response, ApiError> {
    let mut inner = ctx.cluster.lock();
    let key = t.key(name);
    let object = inner
        .objects
        .get(&key)
        .cloned()
        .ok_or_else(|| ApiError::not_found(&t.rt, name))?;
    let is_namespace = t.rt.group.is_empty() && t.rt.kind == "Namespace";
    if is_namespace && matches!(name, "default" | "kube-system" | "kube-public") {
        return Err(ApiError::new(
            403,
            format!("namespaces \"{name}\" is forbidden: this namespace may not be deleted"),
        )
        .about(&t.rt, name));
    }
    if dry_run(query) {
        return Ok(json_response(200, &object));
    }
    let removed = remove_object(ctx, &mut inner, &key, requested_grace(query, body));
    Ok(json_response(200, &removed.unwrap_or(object)))
}

/// Deletes one object by the API's rules: Pods gracefully, namespaces with their contents.
fn remove_object(
    ctx: &Ctx,
    inner: &mut Inner,
    key: &ObjectKey,
    grace: Option<i64>,
) -> Option<Value> {
    match (key.api_version.as_str(), key.kind.as_str()) {
        ("v1", "Namespace") => ctx.cluster.delete_namespace(inner, &key.name),
        ("v1", "Pod") => ctx.cluster.delete_pod(inner, key, grace),
        _ => {
            let removed = inner.remove(key);
            inner.finish_namespace(&key.namespace);
            removed
        }
    }
}

fn delete_collection(ctx: &Ctx, t: &Target, query: &Query) -> Result<Response, ApiError> {
    let (labels, fields) = selectors(&t.rt, query)?;
    let api_version = t.rt.api_version();
    let mut inner = ctx.cluster.lock();
    let keys: Vec<ObjectKey> = inner
        .objects_of(&api_version, &t.rt.kind, t.namespace.as_deref())
        .filter(|(_, o)| labels.matches(o) && fields.matches(o))
        .map(|(k, _)| k.clone())
        .collect();
    let mut removed = Vec::new();
    for key in keys {
        if dry_run(query) {
            removed.extend(inner.objects.get(&key).cloned());
        } else if let Some(o) = remove_object(ctx, &mut inner, &key, None) {
            removed.push(o);
        }
    }
    let doc = json!({
        "kind": t.rt.list_kind(),
        "apiVersion": api_version,
        "metadata": {"resourceVersion": inner.rv.to_string()},
        "items": removed.into_iter().map(strip_type_meta).collect::<Vec<_>>(),
    });
    Ok(json_response(200, &doc))
}

fn names_at(pod: &Value, pointer: &str) -> Vec<String> {
    pod.pointer(pointer)
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The container a logs or exec request is for, resolved like the real server does.
pub(crate) fn resolve_container(
    pod: &Value,
    pod_name: &str,
    requested: Option<&str>,
) -> Result<Option<String>, ApiError> {
    let main = names_at(pod, "/spec/containers");
    let mut all = main.clone();
    all.extend(names_at(pod, "/spec/initContainers"));
    all.extend(names_at(pod, "/spec/ephemeralContainers"));
    match requested.filter(|c| !c.is_empty()) {
        Some(c) if all.is_empty() || all.iter().any(|n| n == c) => Ok(Some(c.to_string())),
        Some(c) => Err(ApiError::bad_request(format!(
            "container {c} is not valid for pod {pod_name}"
        ))),
        None => match main.as_slice() {
            [] => Ok(None),
            [only] => Ok(Some(only.clone())),
            _ => Err(ApiError::bad_request(format!(
                "a container name must be specified for pod {pod_name}, choose one of: [{}]",
                main.join(" ")
            ))),
        },
    }
}

/// The pod of a `log`/`exec` request and its resolved container.
pub(crate) fn pod_and_container(
    inner: &Inner,
    t: &Target,
    name: &str,
    query: &Query,
) -> Result<(Value, Option<String>), ApiError> {
    let pod = inner
        .objects
        .get(&t.key(name))
        .cloned()
        .ok_or_else(|| ApiError::not_found(&t.rt, name))?;
    let container = resolve_container(&pod, name, query.get("container"))?;
    Ok((pod, container))
}

fn logs(ctx: &Ctx, t: &Target, name: &str, query: &Query) -> Result<Response, ApiError> {
    let inner = ctx.cluster.lock();
    let (pod, container) = pod_and_container(&inner, t, name, query)?;
    let ns = t.namespace.clone().unwrap_or_default();
    if let Some(c) = &container {
        let waiting = ["/status/containerStatuses", "/status/initContainerStatuses"]
            .iter()
            .flat_map(|p| {
                pod.pointer(p)
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default()
            })
            .find(|s| s.get("name").and_then(Value::as_str) == Some(c.as_str()))
            .and_then(|s| {
                s.pointer("/state/waiting/reason")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            });
        if let Some(reason) = waiting.filter(|r| r != "CrashLoopBackOff") {
            return Err(ApiError::bad_request(format!(
                "container \"{c}\" in pod \"{name}\" is waiting to start: {reason}"
            )));
        }
    }
    let text = match &container {
        Some(c) => inner
            .logs
            .get(&(ns.clone(), name.to_string(), c.clone()))
            .cloned(),
        None => {
            let mut found = inner
                .logs
                .iter()
                .filter(|((n, p, _), _)| *n == ns && p == name)
                .map(|(_, text)| text.clone());
            found.next()
        }
    }
    .unwrap_or_default();
    drop(inner);
    let mut text = match query.get("tailLines").and_then(|n| n.parse::<usize>().ok()) {
        Some(n) => {
            let lines: Vec<&str> = text.split_inclusive('\n').collect();
            lines[lines.len().saturating_sub(n)..].concat()
        }
        None => text,
    };
    if let Some(limit) = query
        .get("limitBytes")
        .and_then(|n| n.parse::<usize>().ok())
        && text.len() > limit
    {
        let mut cut = limit;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    Ok(text_response(text))
}
