// react-jsonschema-form, set up for the plugin's schemas and ui_schema conventions
// (fortytwomin_snov/settings.py): the notice, per-value warnings, locked array rows and
// actions next to a field. Validation is the plugin's (validate_settings, connect): the
// forms submit with noValidate and show the errors the host sends back.
import Form from '@rjsf/core';
import { getUiOptions } from '@rjsf/utils';
import { validator } from './validator.js';
import { SearchableSelect } from './SearchableSelect.jsx';

export const widgets = { searchable_select: SearchableSelect };

const SCHEMA_MAPS = ['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas'];
const SCHEMA_LISTS = ['allOf', 'anyOf', 'oneOf', 'prefixItems'];
const SCHEMA_VALUES = ['items', 'additionalProperties', 'not', 'contains'];

/** A subschema without its conditionals (if/then/else), which only validate: RJSF would
 * draw a `then` holding an anyOf as a choice between alternatives. */
function withoutConditionals(schema) {
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) return schema;
  const { if: _if, then: _then, else: _else, ...rest } = schema;
  for (const key of SCHEMA_MAPS) {
    if (rest[key] && typeof rest[key] === 'object') {
      rest[key] = Object.fromEntries(Object.entries(rest[key]).map(([name, sub]) => [name, withoutConditionals(sub)]));
    }
  }
  for (const key of SCHEMA_LISTS) if (Array.isArray(rest[key])) rest[key] = rest[key].map(withoutConditionals);
  for (const key of SCHEMA_VALUES) if (key in rest) rest[key] = withoutConditionals(rest[key]);
  return rest;
}

/** A schema as the pages hand it to RJSF: without `$id` (Ajv refuses to compile one id
 * twice) and without conditionals. The host validates through the plugin
 * (validate_settings, connect), so nothing is lost by drawing the plain shape. */
export function formSchema(schema) {
  const { $id, ...rest } = withoutConditionals(schema);
  return rest;
}

const WORDS = { api: 'API', id: 'ID', url: 'URL' };

/** A label for a property without a title: api_user_id -> "API user ID". */
export function humanize(name) {
  const words = String(name).split('_').map((word) => WORDS[word] ?? word);
  const first = words[0] ?? '';
  if (first === first.toLowerCase()) words[0] = first.charAt(0).toUpperCase() + first.slice(1);
  return words.join(' ');
}

/** Who connected which account: the record's public credential fields, each under the
 * title the credentials schema gives it ("API user ID 42"); secret (writeOnly) ones never. */
export function connectionFields(connection, schema) {
  const properties = schema?.properties ?? {};
  return Object.entries(properties)
    .filter(([name, spec]) => spec?.writeOnly !== true && connection?.[name] != null)
    .map(([name, spec]) => [name, spec?.title ?? humanize(name), String(connection[name])]);
}

export function ConnectionSummary({ connection, schema }) {
  const fields = connectionFields(connection, schema);
  return (
    <>
      Connected
      {fields.map(([name, title, value], index) => (
        <span key={name}>
          {index === 0 ? ' with ' : ', '}
          {title} <code>{value}</code>
        </span>
      ))}{' '}
      by {connection.connected_by},
    </>
  );
}

/** The connect form: every writeOnly property is a password field that the browser does
 * not fill in or remember; properties without a title get one from their name. */
export function credentialsUiSchema(schema) {
  const ui = { 'ui:submitButtonOptions': { norender: true } };
  for (const [name, property] of Object.entries(schema.properties ?? {})) {
    ui[name] = {
      ...(property.title ? {} : { 'ui:title': humanize(name) }),
      ...(property.writeOnly
        ? { 'ui:widget': 'password', 'ui:autocomplete': 'new-password' }
        : { 'ui:autocomplete': 'off' }),
    };
  }
  return ui;
}

/** The settings ui_schema, with locked_rows turned into read-only items (RJSF lets
 * `items` be a function of the row's index). */
export function settingsUiSchema(uiSchema) {
  const ui = { ...uiSchema };
  for (const [name, fieldUi] of Object.entries(uiSchema)) {
    const locked = fieldUi?.['ui:options']?.locked_rows;
    if (!name.startsWith('ui:') && Array.isArray(locked)) {
      const items = fieldUi.items ?? {};
      ui[name] = {
        ...fieldUi,
        items: (row, index) => (locked.includes(index) ? { ...items, 'ui:readonly': true } : items),
      };
    }
  }
  return ui;
}

/** Field errors (`{pointer, message}`, RFC 6901 pointers into the submitted document) as
 * an RJSF error schema; and the messages that name the whole document. */
export function errorSchemaOf(errors) {
  const schema = {};
  const general = [];
  for (const { pointer, message } of errors) {
    const path = pointer
      .split('/')
      .slice(1)
      .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'));
    if (path.length === 0) {
      general.push(message);
      continue;
    }
    let node = schema;
    for (const part of path) node = node[part] ??= {};
    (node.__errors ??= []).push(message);
  }
  return { errorSchema: schema, general };
}

// ---- templates -------------------------------------------------------------------------

const isIndex = (part) => typeof part === 'number' || /^\d+$/.test(String(part));

function LockIcon({ title }) {
  return (
    <span className="lock" title={title} aria-label="Locked" role="img">
      <svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">
        <path
          fill="currentColor"
          d="M8 1a3.5 3.5 0 0 0-3.5 3.5V6H4a1.5 1.5 0 0 0-1.5 1.5v6A1.5 1.5 0 0 0 4 15h8a1.5 1.5 0 0 0 1.5-1.5v-6A1.5 1.5 0 0 0 12 6h-.5V4.5A3.5 3.5 0 0 0 8 1Zm-2 3.5a2 2 0 1 1 4 0V6H6V4.5Z"
        />
      </svg>
    </span>
  );
}

function WarningIcon() {
  return (
    <svg className="icon" viewBox="0 0 16 16" width="16" height="16" aria-hidden="true">
      <path
        fill="currentColor"
        d="M8.9 1.6a1 1 0 0 0-1.8 0L.6 13.5A1 1 0 0 0 1.5 15h13a1 1 0 0 0 .9-1.5L8.9 1.6ZM7.25 6h1.5v4.5h-1.5V6Zm0 5.75h1.5v1.5h-1.5v-1.5Z"
      />
    </svg>
  );
}

export function Banner({ kind, title, children, ...rest }) {
  return (
    <div className={`banner banner-${kind}`} role={kind === 'error' || kind === 'warning' ? 'alert' : 'status'} {...rest}>
      {kind === 'warning' || kind === 'error' ? <WarningIcon /> : null}
      <div className="banner-body">
        {title ? <strong className="banner-title">{title}</strong> : null}
        {children}
      </div>
    </div>
  );
}

function FieldTemplate(props) {
  const { id, classNames, style, label, children, errors, help, description, rawHelp, hidden, required } = props;
  const { displayLabel, rawErrors, uiSchema, formData, registry, schema, fieldPathId, readonly } = props;
  if (hidden) return <div className="hidden">{children}</div>;
  const options = getUiOptions(uiSchema);
  const isCheckbox = options.widget === 'checkbox' || schema.type === 'boolean';
  const warnings = options.warnings ?? {};
  const warning = formData === undefined || formData === null ? null : warnings[String(formData)];
  const onAction = registry.formContext?.onAction;
  // No onAction: the user may not run actions (a member), so the buttons are not drawn.
  const actions = Array.isArray(options.actions) && onAction ? options.actions : [];
  const invalid = rawErrors && rawErrors.length > 0;
  return (
    <div className={`${classNames ?? ''} field${invalid ? ' field-invalid' : ''}${readonly ? ' field-readonly' : ''}`} style={style}>
      {displayLabel && !isCheckbox && label ? (
        <label htmlFor={id} className="field-label">
          {label}
          {required ? <span className="required"> *</span> : null}
        </label>
      ) : null}
      {/* ui:help is written for the admin; the schema's description stands in without one. */}
      {displayLabel && !isCheckbox && !rawHelp ? description : null}
      {actions.length > 0 ? (
        <div className="field-with-actions">
          <div className="field-control">{children}</div>
          {actions.map((action) => (
            <button
              key={action.name}
              type="button"
              className="button secondary"
              title={action.description}
              onClick={() => onAction?.(fieldPathId.path, action)}
            >
              {action.title}
            </button>
          ))}
        </div>
      ) : (
        children
      )}
      {warning ? (
        <div className="field-warning" role="alert" data-warning-for={id}>
          <WarningIcon />
          <span>{warning}</span>
        </div>
      ) : null}
      {errors}
      {help}
    </div>
  );
}

function ObjectFieldTemplate(props) {
  const { title, description, properties, fieldPathId, uiSchema, registry } = props;
  const path = fieldPathId.path;
  const visible = properties.filter((property) => !property.hidden);
  const hidden = properties.filter((property) => property.hidden);
  if (path.length > 0 && isIndex(path[path.length - 1])) {
    // One row of an array: its fields side by side, no legend.
    return (
      <div className="object-row" id={fieldPathId.$id}>
        {visible.map((property) => (
          <div className="object-cell" key={property.name}>
            {property.content}
          </div>
        ))}
        {hidden.map((property) => property.content)}
      </div>
    );
  }
  if (path.length === 0) {
    // The whole form: the page shows the notice; the intro stays as a lead paragraph.
    const notice = getUiOptions(uiSchema).notice;
    return (
      <div className="form-root" id={fieldPathId.$id}>
        {notice ? null : description ? <div className="form-intro">{description}</div> : null}
        {properties.map((property) => property.content)}
      </div>
    );
  }
  const TitleTemplate = registry.templates.TitleFieldTemplate;
  return (
    <fieldset className="object-group" id={fieldPathId.$id}>
      {title ? <TitleTemplate id={`${fieldPathId.$id}__title`} title={title} registry={registry} schema={props.schema} /> : null}
      {description && !uiSchema?.['ui:help'] ? <div className="field-description">{description}</div> : null}
      <div className={`object-fields object-fields-${visible.every((p) => p.content?.props?.schema?.type === 'boolean') ? 'toggles' : 'inputs'}`}>
        {properties.map((property) => property.content)}
      </div>
    </fieldset>
  );
}

function TitleFieldTemplate({ id, title, required }) {
  return (
    <legend id={id} className="group-title">
      {title}
      {required ? <span className="required"> *</span> : null}
    </legend>
  );
}

function DescriptionFieldTemplate({ id, description, uiSchema }) {
  // RJSF shows the selected option's description; when the ui_schema carries the same text
  // as the warning for that value, the field shows it once, as a warning.
  const warnings = Object.values(getUiOptions(uiSchema).warnings ?? {});
  if (warnings.includes(description)) return null;
  return description ? (
    <div id={id} className="field-description">
      {description}
    </div>
  ) : null;
}

function ArrayFieldTemplate(props) {
  const { canAdd, fieldPathId, items, onAddClick, disabled, readonly, title, uiSchema, schema } = props;
  const options = getUiOptions(uiSchema);
  const lockHint = options.lock_hint;
  const description = options.description || (uiSchema?.['ui:help'] ? null : schema.description);
  return (
    <fieldset className="array-group" id={fieldPathId.$id}>
      <legend className="group-title">{options.title || title}</legend>
      {description ? <div className="field-description">{description}</div> : null}
      {lockHint ? (
        <p className="lock-hint">
          <LockIcon title={lockHint} /> {lockHint}
        </p>
      ) : null}
      <div className="array-rows">{items}</div>
      {canAdd ? (
        <button type="button" className="button secondary add-row" onClick={onAddClick} disabled={disabled || readonly}>
          + Add a row
        </button>
      ) : null}
    </fieldset>
  );
}

function ArrayFieldItemTemplate(props) {
  const { children, buttonsProps, index, parentUiSchema } = props;
  const options = getUiOptions(parentUiSchema);
  const locked = Array.isArray(options.locked_rows) && options.locked_rows.includes(index);
  return (
    <div className={`array-row${locked ? ' array-row-locked' : ''}`} data-row={index} data-locked={locked ? 'true' : 'false'}>
      <div className="array-row-body">{children}</div>
      <div className="array-row-tools">
        {locked ? (
          <LockIcon title={options.lock_hint} />
        ) : buttonsProps.hasRemove ? (
          <button
            type="button"
            className="button ghost remove-row"
            onClick={buttonsProps.onRemoveItem}
            disabled={buttonsProps.disabled || buttonsProps.readonly}
            title="Remove this row"
          >
            Remove
          </button>
        ) : null}
      </div>
    </div>
  );
}

function FieldErrorTemplate({ errors, fieldPathId }) {
  if (!errors || errors.length === 0) return null;
  return (
    <ul className="field-errors" id={`${fieldPathId.$id}__error`}>
      {errors.map((error, index) => (
        <li key={index}>{error}</li>
      ))}
    </ul>
  );
}

function FieldHelpTemplate({ help, fieldPathId }) {
  return help ? (
    <div className="field-help" id={`${fieldPathId.$id}__help`}>
      {help}
    </div>
  ) : null;
}

export const templates = {
  FieldTemplate,
  ObjectFieldTemplate,
  TitleFieldTemplate,
  DescriptionFieldTemplate,
  ArrayFieldTemplate,
  ArrayFieldItemTemplate,
  FieldErrorTemplate,
  FieldHelpTemplate,
};

// A choice (a oneOf of consts) starts empty rather than on its first option: a new mapping
// row must not arrive already pointing at prospect.email.
const DEFAULTS = { constAsDefaults: 'skipOneOf' };

/** An RJSF form with the templates above, validated by the host rather than in the page. */
export function SchemaForm(props) {
  return (
    <Form
      validator={validator}
      templates={templates}
      widgets={widgets}
      noValidate
      noHtml5Validate
      showErrorList={false}
      experimental_defaultFormStateBehavior={DEFAULTS}
      {...props}
    />
  );
}

// A question before something that cannot be undone from the page (Disconnect, Replay all).
export function ConfirmDialog({ title, children, confirmLabel, danger = false, onConfirm, onCancel }) {
  return (
    <div className="modal-backdrop">
      <div className="modal" role="dialog" aria-modal="true" aria-labelledby="confirm-title" data-testid="confirm-dialog">
        <h2 id="confirm-title">{title}</h2>
        <div className="confirm-body">{children}</div>
        <div className="form-actions">
          <button type="button" className="button ghost" onClick={onCancel} autoFocus>
            Cancel
          </button>
          <button type="button" className={`button ${danger ? 'danger' : 'primary'}`} onClick={onConfirm}>
            {confirmLabel}
          </button>
        </div>
      </div>
    </div>
  );
}
