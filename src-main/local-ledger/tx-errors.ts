// Runs in: Node. Turns LiteSVM's transaction errors into Solana's TransactionError JSON (as the
// RPC returns it in `err`) and Agave's human-readable message text.
import type { FailedTransactionMetadata } from 'litesvm';
import type {
  TransactionErrorInstructionError,
  InstructionErrorCustom,
  InstructionErrorBorshIo,
} from 'litesvm/dist/internal';

/** Order of LiteSVM's TransactionErrorFieldless const enum. */
const TX_ERRORS = [
  'AccountInUse',
  'AccountLoadedTwice',
  'AccountNotFound',
  'ProgramAccountNotFound',
  'InsufficientFundsForFee',
  'InvalidAccountForFee',
  'AlreadyProcessed',
  'BlockhashNotFound',
  'CallChainTooDeep',
  'MissingSignatureForFee',
  'InvalidAccountIndex',
  'SignatureFailure',
  'InvalidProgramForExecution',
  'SanitizeFailure',
  'ClusterMaintenance',
  'AccountBorrowOutstanding',
  'WouldExceedMaxBlockCostLimit',
  'UnsupportedVersion',
  'InvalidWritableAccount',
  'WouldExceedMaxAccountCostLimit',
  'WouldExceedAccountDataBlockLimit',
  'TooManyAccountLocks',
  'AddressLookupTableNotFound',
  'InvalidAddressLookupTableOwner',
  'InvalidAddressLookupTableData',
  'InvalidAddressLookupTableIndex',
  'InvalidRentPayingAccount',
  'WouldExceedMaxVoteCostLimit',
  'WouldExceedAccountDataTotalLimit',
  'MaxLoadedAccountsDataSizeExceeded',
  'ResanitizationNeeded',
  'InvalidLoadedAccountsDataSizeLimit',
  'UnbalancedTransaction',
  'ProgramCacheHitMaxLimit',
  'CommitCancelled',
] as const;

/** Order of LiteSVM's InstructionErrorFieldless const enum. */
const IX_ERRORS = [
  'GenericError',
  'InvalidArgument',
  'InvalidInstructionData',
  'InvalidAccountData',
  'AccountDataTooSmall',
  'InsufficientFunds',
  'IncorrectProgramId',
  'MissingRequiredSignature',
  'AccountAlreadyInitialized',
  'UninitializedAccount',
  'UnbalancedInstruction',
  'ModifiedProgramId',
  'ExternalAccountLamportSpend',
  'ExternalAccountDataModified',
  'ReadonlyLamportChange',
  'ReadonlyDataModified',
  'DuplicateAccountIndex',
  'ExecutableModified',
  'RentEpochModified',
  'NotEnoughAccountKeys',
  'AccountDataSizeChanged',
  'AccountNotExecutable',
  'AccountBorrowFailed',
  'AccountBorrowOutstanding',
  'DuplicateAccountOutOfSync',
  'InvalidError',
  'ExecutableDataModified',
  'ExecutableLamportChange',
  'ExecutableAccountNotRentExempt',
  'UnsupportedProgramId',
  'CallDepth',
  'MissingAccount',
  'ReentrancyNotAllowed',
  'MaxSeedLengthExceeded',
  'InvalidSeeds',
  'InvalidRealloc',
  'ComputationalBudgetExceeded',
  'PrivilegeEscalation',
  'ProgramEnvironmentSetupFailure',
  'ProgramFailedToComplete',
  'ProgramFailedToCompile',
  'Immutable',
  'IncorrectAuthority',
  'AccountNotRentExempt',
  'InvalidAccountOwner',
  'ArithmeticOverflow',
  'UnsupportedSysvar',
  'IllegalOwner',
  'MaxAccountsDataAllocationsExceeded',
  'MaxAccountsExceeded',
  'MaxInstructionTraceLengthExceeded',
  'BuiltinProgramsMustConsumeComputeUnits',
  'BorshIoError',
] as const;

const TX_ERROR_TEXT: Record<string, string> = {
  AccountInUse: 'Account in use',
  AccountLoadedTwice: 'Account loaded twice',
  AccountNotFound: 'Attempt to debit an account but found no record of a prior credit.',
  ProgramAccountNotFound: 'Attempt to load a program that does not exist',
  InsufficientFundsForFee: 'Insufficient funds for fee',
  InvalidAccountForFee: 'This account may not be used to pay transaction fees',
  AlreadyProcessed: 'This transaction has already been processed',
  BlockhashNotFound: 'Blockhash not found',
  CallChainTooDeep: 'Loader call chain is too deep',
  MissingSignatureForFee: 'Transaction requires a fee but has no signature present',
  InvalidAccountIndex: 'Transaction contains an invalid account reference',
  SignatureFailure: 'Transaction did not pass signature verification',
  InvalidProgramForExecution: 'This program may not be used for executing instructions',
  SanitizeFailure: 'Transaction failed to sanitize accounts offsets correctly',
  ClusterMaintenance: 'Transactions are currently disabled due to cluster maintenance',
  UnsupportedVersion: 'Transaction version is unsupported',
};

const IX_ERROR_TEXT: Record<string, string> = {
  GenericError: 'generic instruction error',
  InvalidArgument: 'invalid program argument',
  InvalidInstructionData: 'invalid instruction data',
  InvalidAccountData: 'invalid account data for instruction',
  AccountDataTooSmall: 'account data too small for instruction',
  InsufficientFunds: 'insufficient funds for instruction',
  IncorrectProgramId: 'incorrect program id for instruction',
  MissingRequiredSignature: 'missing required signature for instruction',
  AccountAlreadyInitialized: 'instruction requires an uninitialized account',
  UninitializedAccount: 'instruction requires an initialized account',
  NotEnoughAccountKeys: 'insufficient account keys for instruction',
  ComputationalBudgetExceeded: 'Computational budget exceeded',
};

/** A Solana TransactionError in its JSON form: a string, or a one-key object. */
export type TransactionErrorJson = string | Record<string, unknown>;

export interface TxFailure {
  err: TransactionErrorJson;
  message: string;
}

const sentence = (name: string): string => name.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();

export function fieldlessTxError(name: (typeof TX_ERRORS)[number]): TxFailure {
  return { err: name, message: TX_ERROR_TEXT[name] ?? sentence(name) };
}

export function describeFailure(failed: FailedTransactionMetadata): TxFailure {
  const e = failed.err() as unknown;
  if (typeof e === 'number') return fieldlessTxError(TX_ERRORS[e] ?? 'SanitizeFailure');
  const name = (e as object).constructor.name;
  if (name === 'TransactionErrorInstructionError') {
    const ie = e as TransactionErrorInstructionError;
    const inner = ie.err() as unknown;
    let json: unknown;
    let text: string;
    if (typeof inner === 'number') {
      const n = IX_ERRORS[inner] ?? 'GenericError';
      json = n;
      text = IX_ERROR_TEXT[n] ?? sentence(n);
    } else if ((inner as object).constructor.name === 'InstructionErrorCustom') {
      const code = (inner as InstructionErrorCustom).code;
      json = { Custom: code };
      text = `custom program error: 0x${code.toString(16)}`;
    } else {
      const msg = (inner as InstructionErrorBorshIo).msg;
      json = { BorshIoError: msg };
      text = `Failed to serialize or deserialize account data: ${msg}`;
    }
    return {
      err: { InstructionError: [ie.index, json] },
      message: `Error processing Instruction ${ie.index}: ${text}`,
    };
  }
  if (name === 'TransactionErrorDuplicateInstruction') {
    const index = (e as { index: number }).index;
    return {
      err: { DuplicateInstruction: index },
      message: `Transaction contains a duplicate instruction (${index}) that is not allowed`,
    };
  }
  if (name === 'TransactionErrorInsufficientFundsForRent') {
    const accountIndex = (e as { accountIndex: number }).accountIndex;
    return {
      err: { InsufficientFundsForRent: { account_index: accountIndex } },
      message: `Transaction results in an account (${accountIndex}) with insufficient funds for rent`,
    };
  }
  const accountIndex = (e as { accountIndex?: number }).accountIndex ?? 0;
  return {
    err: { ProgramExecutionTemporarilyRestricted: { account_index: accountIndex } },
    message: `Execution of the program referenced by account at index ${accountIndex} is temporarily restricted.`,
  };
}
