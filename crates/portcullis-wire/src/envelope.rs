//! The response envelope `{success, errors, messages, result, result_info?}`.

use serde::Serialize;
use utoipa::ToSchema;

/// Where in the request a message points (a JSON pointer into the body, or a query or path name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct MessageSource {
    /// JSON pointer of the offending field, e.g. `/policies/0/access`.
    pub pointer: String,
}

/// One item of `errors` or `messages`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Message {
    /// Numeric code (>= 1000 by convention; see the error catalog).
    pub code: u32,
    /// Human-readable text.
    pub message: String,
    /// Link to documentation, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub documentation_url: Option<String>,
    /// The field the message is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<MessageSource>,
    /// Causes of an error, innermost last (Cloudflare's `error_chain`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(no_recursion)]
    pub error_chain: Vec<Message>,
}

impl Message {
    /// A message with a code and text only.
    pub fn new(code: u32, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            documentation_url: None,
            source: None,
            error_chain: Vec::new(),
        }
    }

    /// Adds a source pointer.
    pub fn with_pointer(mut self, pointer: impl Into<String>) -> Self {
        self.source = Some(MessageSource {
            pointer: pointer.into(),
        });
        self
    }
}

/// Pagination details of a page-number list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct ResultInfo {
    /// 1-based page number that was served.
    pub page: u64,
    /// Page size used (after clamping).
    pub per_page: u64,
    /// Items on this page.
    pub count: u64,
    /// Items matching the filters, on all pages.
    pub total_count: u64,
    /// Number of pages (`ceil(total_count / per_page)`).
    pub total_pages: u64,
}

impl ResultInfo {
    /// Builds the info for one page.
    pub fn new(page: u64, per_page: u64, count: u64, total_count: u64) -> Self {
        let total_pages = if per_page == 0 {
            0
        } else {
            total_count.div_ceil(per_page)
        };
        Self {
            page,
            per_page,
            count,
            total_count,
            total_pages,
        }
    }
}

/// The envelope every response is wrapped in (`I`: the shape of `result_info`).
#[derive(Debug, Clone, Serialize)]
pub struct Envelope<T, I = ResultInfo> {
    /// True on 2xx answers, false otherwise.
    pub success: bool,
    /// Errors (empty on success).
    pub errors: Vec<Message>,
    /// Informational messages.
    pub messages: Vec<Message>,
    /// The payload (`null` on failure).
    pub result: Option<T>,
    /// Pagination details, on paginated lists only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_info: Option<I>,
}

impl<T, I> Envelope<T, I> {
    /// A successful page with pagination details of another shape (cursors).
    pub fn with_info(result: T, info: I) -> Self {
        Self {
            success: true,
            errors: Vec::new(),
            messages: Vec::new(),
            result: Some(result),
            result_info: Some(info),
        }
    }
}

impl<T> Envelope<T> {
    /// A successful envelope around `result`.
    pub fn ok(result: T) -> Self {
        Self {
            success: true,
            errors: Vec::new(),
            messages: Vec::new(),
            result: Some(result),
            result_info: None,
        }
    }

    /// A successful page of a paginated list.
    pub fn page(result: T, info: ResultInfo) -> Self {
        Self {
            result_info: Some(info),
            ..Self::ok(result)
        }
    }

    /// Adds an informational message.
    pub fn with_message(mut self, message: Message) -> Self {
        self.messages.push(message);
        self
    }
}

impl Envelope<()> {
    /// A failure envelope.
    pub fn failure(errors: Vec<Message>) -> Self {
        Self {
            success: false,
            errors,
            messages: Vec::new(),
            result: None,
            result_info: None,
        }
    }
}
