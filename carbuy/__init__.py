"""carbuy: durable orchestration of an online car purchase on Temporal."""
