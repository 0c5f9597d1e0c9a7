//! Walking `page_token` / `next_page_token` pages as one stream.

use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};

use crate::error::{Error, Result};
use crate::pb;

/// A list request with a `page_token`.
pub(crate) trait PageRequest: Clone + Send + 'static {
    /// The token of the page to fetch; empty for the first.
    fn page_token(&self) -> &str;
    /// Sets the token of the page to fetch.
    fn set_page_token(&mut self, token: String);
}

macro_rules! page_request {
    ($($request:ty),* $(,)?) => {$(
        impl PageRequest for $request {
            fn page_token(&self) -> &str {
                &self.page_token
            }
            fn set_page_token(&mut self, token: String) {
                self.page_token = token;
            }
        }
    )*};
}

page_request!(
    pb::ListRegionsRequest,
    pb::ListOrganizationsRequest,
    pb::ListStaffRequest,
    pb::ListCasesRequest,
    pb::ListCaseEventsRequest,
    pb::ListTeamsRequest,
    pb::ListTeamMembersRequest,
    pb::ListDisputesRequest,
    pb::ListDisputeEventsRequest,
    pb::ListLegalAidApplicationsRequest,
    pb::ListLegalAidApplicationEventsRequest,
);

page_request!(pb::ListCourtReferralsRequest, pb::ListCourtReferralEventsRequest);

page_request!(pb::ListRatingsRequest, pb::ListRatingEventsRequest);
page_request!(pb::ListSupervisionsRequest, pb::ListSupervisionEventsRequest);
page_request!(
    pb::ListReceptionSchedulesRequest,
    pb::ListReceptionBookingsRequest,
    pb::ListReceptionBookingEventsRequest
);

page_request!(pb::ListBacklogCasesRequest, pb::ListBacklogCaseEventsRequest);

/// The items of every page, starting with `first`. `fetch` returns one
/// page's items and its `next_page_token` (empty after the last page).
///
/// The stream ends after the first error. A server that answers a page
/// token with the same token again would loop forever; that is reported as
/// an error instead.
pub(crate) fn paginate<Req, T, F, Fut>(first: Req, fetch: F) -> BoxStream<'static, Result<T>>
where
    Req: PageRequest,
    T: Send + 'static,
    F: FnMut(Req) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(Vec<T>, String)>> + Send + 'static,
{
    stream::try_unfold((Some(first), fetch), |(next, mut fetch)| async move {
        let Some(mut request) = next else {
            return Ok(None);
        };
        let (items, next_token) = fetch(request.clone()).await?;
        let next = if next_token.is_empty() {
            None
        } else if next_token == request.page_token() {
            return Err(Error::invalid_response(format!(
                "the server answered page token {next_token:?} with the same next_page_token"
            )));
        } else {
            request.set_page_token(next_token);
            Some(request)
        };
        Ok(Some((items, (next, fetch))))
    })
    .map_ok(|items| stream::iter(items.into_iter().map(Ok)))
    .try_flatten()
    .boxed()
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use futures::executor::block_on;

    use super::*;

    /// A fake `ListRegions` serving `pages` (items, next token) keyed by the
    /// page token, recording the tokens asked for.
    type Page = futures::future::Ready<Result<(Vec<u32>, String)>>;
    type Log = Arc<Mutex<Vec<String>>>;

    fn fake(pages: Vec<(&'static str, Vec<u32>, &'static str)>) -> (Log, impl FnMut(pb::ListRegionsRequest) -> Page) {
        let asked = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&asked);
        let fetch = move |request: pb::ListRegionsRequest| {
            log.lock().expect("log").push(request.page_token.clone());
            let page = pages.iter().find(|(token, _, _)| *token == request.page_token);
            futures::future::ready(match page {
                Some((_, items, next)) => Ok((items.clone(), (*next).to_owned())),
                None => Err(tonic::Status::invalid_argument("bad page token").into()),
            })
        };
        (asked, fetch)
    }

    #[test]
    fn walks_every_page_including_empty_ones() {
        let (asked, fetch) = fake(vec![("", vec![1, 2], "p2"), ("p2", vec![], "p3"), ("p3", vec![3], "")]);
        let filter = pb::ListRegionsRequest { parent_code: "320100".into(), page_size: 2, ..Default::default() };
        let items: Result<Vec<u32>> = block_on(paginate(filter, fetch).try_collect());
        assert_eq!(items.ok(), Some(vec![1, 2, 3]));
        assert_eq!(*asked.lock().expect("log"), vec!["", "p2", "p3"]);
    }

    #[test]
    fn keeps_the_filter_on_every_page() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        let fetch = move |request: pb::ListRegionsRequest| {
            log.lock().expect("log").push((request.parent_code.clone(), request.page_size));
            let next = if request.page_token.is_empty() { "p2" } else { "" };
            futures::future::ready(Ok((vec![0u8], next.to_owned())))
        };
        let filter = pb::ListRegionsRequest { parent_code: "320100".into(), page_size: 7, ..Default::default() };
        let count = block_on(paginate(filter, fetch).try_collect::<Vec<_>>()).map(|v| v.len());
        assert_eq!(count.ok(), Some(2));
        assert_eq!(*seen.lock().expect("log"), vec![("320100".to_owned(), 7), ("320100".to_owned(), 7)]);
    }

    #[test]
    fn starts_at_the_given_page_token() {
        let (asked, fetch) = fake(vec![("p2", vec![5], "")]);
        let filter = pb::ListRegionsRequest { page_token: "p2".into(), ..Default::default() };
        let items: Result<Vec<u32>> = block_on(paginate(filter, fetch).try_collect());
        assert_eq!(items.ok(), Some(vec![5]));
        assert_eq!(*asked.lock().expect("log"), vec!["p2"]);
    }

    #[test]
    fn stops_after_an_error() {
        let (asked, fetch) = fake(vec![("", vec![1], "gone")]);
        let results: Vec<Result<u32>> = block_on(paginate(pb::ListRegionsRequest::default(), fetch).collect());
        assert_eq!(results.len(), 2);
        assert!(matches!(results[0], Ok(1)));
        assert!(results[1].as_ref().is_err_and(|e| e.code() == tonic::Code::InvalidArgument));
        assert_eq!(*asked.lock().expect("log"), vec!["", "gone"]);
    }

    #[test]
    fn a_repeated_page_token_is_an_error_not_a_loop() {
        let (_, fetch) = fake(vec![("", vec![1], "same"), ("same", vec![2], "same")]);
        let results: Vec<Result<u32>> = block_on(paginate(pb::ListRegionsRequest::default(), fetch).collect());
        assert_eq!(results.len(), 2);
        assert!(matches!(results[0], Ok(1)));
        assert!(results[1].as_ref().is_err_and(|e| e.kind() == crate::ErrorKind::InvalidResponse));
    }
}
