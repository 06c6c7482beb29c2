import { ValidateBy, type ValidationOptions } from 'class-validator';
import { isStorableText } from '../common/storable-text.js';

/** A token subject (`sub`, Parley's user id) is 1 to 128 UTF-16 code units (JavaScript's `length`). */
export const SUBJECT_MAX_LENGTH = 128;

/**
 * The one definition of a valid user id, used by the verifier and by whatever issues tokens, so
 * that no token can be issued that the verifier would refuse: 1..128 UTF-16 code units (65 emoji
 * are 130), well-formed Unicode, no NUL.
 */
export function isValidSubject(value: unknown): value is string {
  return typeof value === 'string' && value.length >= 1 && value.length <= SUBJECT_MAX_LENGTH && isStorableText(value);
}

export function IsSubject(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isSubject',
      validator: {
        validate: (value: unknown) => isValidSubject(value),
        defaultMessage: () =>
          `$property must be 1 to ${SUBJECT_MAX_LENGTH} UTF-16 code units of text without NUL or unpaired surrogates`,
      },
    },
    options,
  );
}
