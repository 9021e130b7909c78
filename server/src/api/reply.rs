//! The success envelope: `{"success": true, "data": …}`.

use salvo::http::StatusCode;
use salvo::oapi::{self, BasicType, Components, EndpointOutRegister, Object, Operation, ToSchema};
use salvo::prelude::*;
use serde::Serialize;

use super::error::ApiError;

/// What a handler returns.
pub type ApiResult<T> = Result<Reply<T>, ApiError>;

/// A successful answer with its status (200 unless created).
pub struct Reply<T> {
    status: StatusCode,
    data: T,
}

impl<T> Reply<T> {
    pub fn ok(data: T) -> Self {
        Self {
            status: StatusCode::OK,
            data,
        }
    }

    pub fn created(data: T) -> Self {
        Self {
            status: StatusCode::CREATED,
            data,
        }
    }
}

#[derive(Serialize)]
struct Envelope<T> {
    success: bool,
    data: T,
}

impl<T: Serialize + Send> Scribe for Reply<T> {
    fn render(self, res: &mut Response) {
        res.status_code(self.status);
        res.render(Json(Envelope {
            success: true,
            data: self.data,
        }));
    }
}

impl<T: ToSchema> EndpointOutRegister for Reply<T> {
    fn register(components: &mut Components, operation: &mut Operation) {
        let envelope = Object::new()
            .property("success", Object::with_type(BasicType::Boolean))
            .property("data", T::to_schema(components))
            .required("success")
            .required("data");
        operation.responses.insert(
            "200",
            oapi::Response::new("Success")
                .add_content("application/json", oapi::Content::new(envelope)),
        );
    }
}

/// How many things a bulk delete removed.
#[derive(Serialize, ToSchema)]
pub struct Deleted {
    pub deleted: u64,
}

/// `null` data (`DELETE` and friends).
#[derive(Serialize, ToSchema)]
pub struct Empty;

impl Empty {
    pub fn reply() -> ApiResult<Option<Empty>> {
        Ok(Reply::ok(None))
    }
}
