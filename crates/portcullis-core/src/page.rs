//! Page-number pagination: 1-based pages with per-endpoint size limits.

/// Limits of one list endpoint.
#[derive(Debug, Clone, Copy)]
pub struct PageLimits {
    /// Page size when none is asked for.
    pub default: u64,
    /// Smallest page size (smaller requests are clamped up).
    pub min: u64,
    /// Largest page size (larger requests are clamped down).
    pub max: u64,
}

/// Permission groups, members, accounts and tokens: 20, clamped to 5..50.
pub const SMALL_LIST: PageLimits = PageLimits {
    default: 20,
    min: 5,
    max: 50,
};

/// Audit logs (v1 pages, v2 and change-feed limits): 100, clamped to 1..1000.
pub const AUDIT_LIST: PageLimits = PageLimits {
    default: 100,
    min: 1,
    max: 1000,
};

/// User groups and user-group members: 100, clamped to 1..500.
pub const LARGE_LIST: PageLimits = PageLimits {
    default: 100,
    min: 1,
    max: 500,
};

/// A page request after validation and clamping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// 1-based page number.
    pub page: u64,
    /// Page size.
    pub per_page: u64,
}

impl PageRequest {
    /// Builds a request from the caller's values, clamping `per_page` into the limits.
    /// `page` must already be >= 1.
    pub fn new(page: Option<u64>, per_page: Option<u64>, limits: PageLimits) -> Self {
        Self {
            page: page.unwrap_or(1).max(1),
            per_page: per_page
                .unwrap_or(limits.default)
                .clamp(limits.min, limits.max),
        }
    }

    /// Rows to skip.
    pub fn offset(self) -> u64 {
        (self.page - 1).saturating_mul(self.per_page)
    }

    /// Slices an in-memory list.
    pub fn slice<T: Clone>(self, items: &[T]) -> Vec<T> {
        let start = usize::try_from(self.offset()).unwrap_or(usize::MAX);
        let len = usize::try_from(self.per_page).unwrap_or(usize::MAX);
        items.iter().skip(start).take(len).cloned().collect()
    }
}

/// One page of results and the total matching count.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// Items of this page.
    pub items: Vec<T>,
    /// Items matching the filters, on all pages.
    pub total: u64,
    /// The request served.
    pub request: PageRequest,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamps() {
        assert_eq!(PageRequest::new(None, None, SMALL_LIST).per_page, 20);
        assert_eq!(PageRequest::new(None, Some(1), SMALL_LIST).per_page, 5);
        assert_eq!(PageRequest::new(None, Some(1000), SMALL_LIST).per_page, 50);
        let r = PageRequest::new(Some(3), Some(5), SMALL_LIST);
        assert_eq!(r.offset(), 10);
        let items: Vec<u32> = (0..12).collect();
        assert_eq!(r.slice(&items), vec![10, 11]);
        assert!(PageRequest::new(Some(4), Some(5), SMALL_LIST)
            .slice(&items)
            .is_empty());
    }
}
