import { AppError } from "../../src/core/errors.ts";

/** The AppError a synchronous call throws; fails the test if it throws something else or nothing. */
export function errorOf(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error("expected an AppError");
}
