"""The API's operations, one router per area. Each parses input, calls one service or selector
(the same ones the pages call) and shapes the result with api.schemas; errors are raised and
answered by api.problems."""
