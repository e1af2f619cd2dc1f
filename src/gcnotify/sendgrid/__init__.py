"""The SendGrid seam: the mail/send body and the HTTP client that posts it."""
