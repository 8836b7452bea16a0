// Package o365 sends mail through Microsoft 365 (Exchange Online, its
// national clouds, and on-premises Exchange for EWS) with an Entra ID app
// registration: application (client) ID, directory (tenant) ID, client
// secret and a sender mailbox. *Sender implements mailqueue.Sender.
//
// # Modes
//
//   - graph (default): POST {graph}/v1.0/users/{sender}/sendMail with
//     Content-Type text/plain and the base64 of the MIME message; 202 is
//     success. Permission: Microsoft Graph application permission Mail.Send
//     with admin consent, scoped to the mailbox with RBAC for Applications
//     (or a legacy application access policy).
//   - smtp: smtp.office365.com:587, STARTTLS (RFC 3207, TLS 1.2 minimum),
//     AUTH XOAUTH2 (RFC 4954 exchange; the initial response is sent on the
//     AUTH line when it fits, else after "334 "), through package
//     mailqueue/smtpsend. Permission: SMTP.SendAsApp, the service principal
//     registered in Exchange Online and given FullAccess on the mailbox.
//     Paced to 30 messages per minute (Exchange Online's per-mailbox limit).
//     MAIL FROM is always the sender mailbox.
//   - ews (legacy): CreateItem with MimeContent and
//     MessageDisposition="SendOnly" at {server}/EWS/Exchange.asmx, with
//     ExchangeImpersonation of the sender and the X-AnchorMailbox header.
//     Permission: full_access_as_app (or EWS.AccessAsApp). Exchange Online
//     disables EWS from 1 October 2026 and removes it on 1 April 2027.
//
// Graph and EWS take recipients from the MIME header; envelope recipients
// that the To, Cc and Bcc fields do not list are added as a Bcc field
// before upload, so every mode delivers to exactly the envelope plus the
// header recipients.
//
// # Tokens
//
// Tokens come from the OAuth 2.0 client credentials grant (RFC 6749
// §4.4) at {auth}/{tenant}/oauth2/v2.0/token via
// golang.org/x/oauth2/clientcredentials, with the secret in the form
// body. Each Sender has one token cache for its resource: Graph
// (https://graph.microsoft.com/.default) or Exchange ({server origin}/.default,
// https://outlook.office365.com/.default by default); a token for one is
// never presented to the other. A cached token is replaced a quarter of
// its lifetime (at most 5 minutes) before it expires, judged by
// Config.Now; a claimed lifetime above 24 hours counts as 24 hours.
// Concurrent senders share one fetch, and a caller waiting for another's
// fetch gives up at its own context's deadline. When a service rejects a
// token the cache thought valid, it is dropped and the request repeated
// once with a fresh one. The configured *http.Client carries the token
// requests as well as the Graph and EWS requests, so one proxy setting
// covers both.
//
// # Clouds
//
// Config.Cloud (global, usgov for GCC High, usgov-dod, china) fills the
// login, Graph, Exchange and SMTP endpoints together; AuthURL, ServerURL,
// GraphURL and SMTPAddr override them one by one. EnvURLs reads the
// seed's IMAGICLE_OUTGOING_O365_AUTHENTICATION_URL and
// IMAGICLE_OUTGOING_O365_SERVER_URL for hosts that want them; the package
// itself never reads the environment.
//
// # Failure classes
//
// Every failure is a *mailqueue.DeliveryError:
//
//   - token endpoint refusal (invalid_client, unauthorized_client, tenant
//     not found, bad scope): ClassConfig, with the AADSTS code in a
//     *TokenError and a hint; token endpoint unreachable, 5xx or 429:
//     ClassTransport.
//   - Graph: 429, 503, 504 (and other 5xx): ClassTemporary with
//     Retry-After; 401 after one refresh, 403 (ErrorAccessDenied), 404
//     (mailbox): ClassConfig with a hint; 400 and 413: ClassPermanent;
//     a request over 4 MB is refused before sending with
//     ErrTooLargeForGraph (ClassPermanent).
//   - SMTP: "535 5.7.3" after one token refresh: ClassConfig with a hint;
//     "432 4.3.2": ClassTemporary; the rest as package smtpsend classifies it.
//   - EWS: ErrorServerBusy (with BackOffMilliseconds as RetryAfter) and
//     other transient codes: ClassTemporary; ErrorAccessDenied,
//     ErrorImpersonateUserDenied, ErrorNonExistentMailbox: ClassConfig;
//     ErrorMessageSizeExceeded, MIME errors: ClassPermanent.
//   - network failure before the request was written: ClassTransport;
//     after it (no answer): ClassAmbiguous, since Graph and EWS have no
//     idempotency key and the message may have gone out.
//
// Error texts and logs never contain the client secret or a token.
//
// # What it does not do
//
// No delegated (user) sign-in, no certificate credentials (private_key_jwt),
// no Graph upload sessions for messages over 4 MB (use smtp mode), no
// managed identities. It does not verify token signatures: tokens are
// opaque to a client; TestConnection only reads their roles claim.
package o365
