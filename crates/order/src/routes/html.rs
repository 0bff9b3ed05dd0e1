use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use orderflow_events::{Customer, Item, OrderPlaced, Price};
use orderflow_web::{AppError, HtmlPage};

use super::parse_id;
use crate::db::{self, OrderSummary};
use crate::domain::{Invalid, OrderForm};
use crate::state::AppState;
use crate::state::PlaceOrderError;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(orders_index).post(orders_create))
        .route("/form.html", get(order_form))
        .route("/line", post(order_form_add_line))
        .route(
            "/{id}",
            get(order_show)
                .post(order_delete_via_form)
                .delete(order_delete),
        )
}

#[derive(Template)]
#[template(path = "orders.html")]
struct OrdersPage {
    orders: Vec<OrderSummary>,
    total: i64,
}

#[derive(Template)]
#[template(path = "form.html")]
struct FormPage {
    form: OrderForm,
    customers: Vec<SelectOption>,
    lines: Vec<LineView>,
    problems: Vec<String>,
}

struct SelectOption {
    value: String,
    label: String,
    selected: bool,
}

struct LineView {
    count: String,
    items: Vec<SelectOption>,
}

#[derive(Template)]
#[template(path = "order.html")]
struct OrderPage {
    order: OrderPlaced,
    total_price: Price,
}

#[derive(Template)]
#[template(path = "success.html")]
struct SuccessPage;

async fn orders_index(State(state): State<AppState>) -> Result<HtmlPage<OrdersPage>, AppError> {
    let (orders, total) = db::list_orders(&state.db).await?;
    Ok(HtmlPage::ok(OrdersPage { orders, total }))
}

async fn order_form(State(state): State<AppState>) -> Result<Response, AppError> {
    form_page(&state, OrderForm::default(), Vec::new(), StatusCode::OK).await
}

/// "Add Line": the same form with one more line; nothing is stored.
async fn order_form_add_line(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Response, AppError> {
    let form = match OrderForm::parse(&body) {
        Ok(form) => form,
        Err(Invalid(problems)) => {
            return form_page(
                &state,
                OrderForm::default(),
                problems,
                StatusCode::BAD_REQUEST,
            )
            .await;
        }
    };
    let first_item = state.catalog.items().next().map(|item| item.item_id);
    match form.clone().with_new_line(first_item) {
        Ok(form) => form_page(&state, form, Vec::new(), StatusCode::OK).await,
        Err(Invalid(problems)) => {
            form_page(&state, form, problems, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

/// "Submit": stores the order and its event, or shows the form again with what is wrong (422).
async fn orders_create(State(state): State<AppState>, body: Bytes) -> Result<Response, AppError> {
    let form = match OrderForm::parse(&body) {
        Ok(form) => form,
        Err(Invalid(problems)) => {
            return form_page(
                &state,
                OrderForm::default(),
                problems,
                StatusCode::BAD_REQUEST,
            )
            .await;
        }
    };
    let new_order = match form.to_new_order() {
        Ok(order) => order,
        Err(Invalid(problems)) => {
            return form_page(&state, form, problems, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    match state.place_order(&new_order).await {
        Ok(_) => Ok(HtmlPage::ok(SuccessPage).into_response()),
        Err(PlaceOrderError::Invalid(Invalid(problems))) => {
            form_page(&state, form, problems, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(PlaceOrderError::Database(error)) => Err(AppError::Unexpected(error)),
    }
}

async fn order_show(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<HtmlPage<OrderPage>, AppError> {
    let order = match parse_id(&id) {
        Some(id) => db::load_order(&state.db, id).await?,
        None => None,
    };
    let order = order.ok_or_else(|| AppError::NotFound(format!("There is no order {id}.")))?;
    let total_price = order.total_price().unwrap_or(Price::ZERO);
    Ok(HtmlPage::ok(OrderPage { order, total_price }))
}

/// The list's delete button: `POST /{id}` with `_method=delete`, as HTML forms cannot send DELETE.
async fn order_delete_via_form(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, AppError> {
    let method = OrderForm::parse(&body).ok().and_then(|form| form.method);
    if !method.is_some_and(|m| m.eq_ignore_ascii_case("delete")) {
        return Err(AppError::BadRequest(
            "Only deleting (_method=delete) is possible here.".into(),
        ));
    }
    order_delete(State(state), Path(id)).await
}

async fn order_delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let deleted = match parse_id(&id) {
        Some(id) => db::delete_order(&state.db, id).await?,
        None => false,
    };
    if !deleted {
        return Err(AppError::NotFound(format!("There is no order {id}.")));
    }
    // Its tombstone leaves now rather than at the relay's next idle poll.
    state.relay_wake.notify_one();
    tracing::info!(order_id = %id, "Order deleted.");
    Ok(HtmlPage::ok(SuccessPage).into_response())
}

async fn form_page(
    state: &AppState,
    form: OrderForm,
    problems: Vec<String>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let customers: Vec<&Customer> = state.catalog.customers().collect();
    let items: Vec<&Item> = state.catalog.items().collect();
    let customer_options = customers
        .iter()
        .map(|c| SelectOption {
            value: c.customer_id.to_string(),
            label: format!("{} {}", c.firstname, c.name),
            selected: form.customer.trim() == c.customer_id.to_string(),
        })
        .collect();
    let lines = form
        .lines
        .iter()
        .map(|line| LineView {
            count: line.count.clone(),
            items: items
                .iter()
                .map(|item| SelectOption {
                    value: item.item_id.to_string(),
                    label: item.name.clone(),
                    selected: line.item.trim() == item.item_id.to_string(),
                })
                .collect(),
        })
        .collect();
    Ok(HtmlPage(
        status,
        FormPage {
            form,
            customers: customer_options,
            lines,
            problems,
        },
    )
    .into_response())
}
