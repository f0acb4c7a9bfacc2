/**
 * The one place that reads the MongoDB driver's error shapes and turns them
 * into catalog errors. Messages keep the server's text but never the URL.
 */
import { MongoNetworkError, MongoServerError, MongoServerSelectionError, MongoNotConnectedError, MongoTopologyClosedError } from 'mongodb';
import { CofferError } from '../errors';
import { CatalogRejected, CatalogUnavailable } from './errors';

export const DUPLICATE_KEY = 11000;

export function isDuplicateKey(err: unknown): boolean {
  return err instanceof MongoServerError && err.code === DUPLICATE_KEY;
}

export function toCatalogError(err: unknown, what: string): Error {
  if (err instanceof CofferError) return err;
  if (err instanceof MongoNetworkError || err instanceof MongoServerSelectionError || err instanceof MongoNotConnectedError || err instanceof MongoTopologyClosedError) {
    return new CatalogUnavailable(`catalog unreachable while trying to ${what}`, { cause: err });
  }
  if (err instanceof MongoServerError) {
    return new CatalogRejected(`catalog refused to ${what}: ${err.message}`, { cause: err });
  }
  return err instanceof Error ? err : new CatalogRejected(`catalog failed to ${what}`, { cause: err });
}

/** Runs a catalog operation, mapping driver errors. */
export async function guard<T>(what: string, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (err) {
    throw toCatalogError(err, what);
  }
}
