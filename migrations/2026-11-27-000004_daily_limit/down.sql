DROP TABLE daily_filings;
