import React from 'react';
import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { LaunchForm } from '../../src/panel/components/LaunchForm';
import { callsOf, recordingApi } from './panel-helpers';
import { chooseOption, useComboboxLayout } from './helpers/combobox';

// The launch form checks regexes with the engine the exporter and the daemon run (RE2, api/regex.ts):
// what RE2 cannot express is named on its field before anything is sent, an escaping guard matcher
// on its row, and a pattern that only a backtracking engine finds hard goes through.

jest.setTimeout(60_000);
useComboboxLayout();

const byId = (id: string) => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`no element #${id}`);
  return el;
};

test('process-name regexes and guard matchers are RE2, checked as the exporter checks them', async () => {
  const user = userEvent.setup();
  const api = recordingApi();
  render(<LaunchForm api={api} namespace="shop" templates={[]} canSaveTemplates={false} onSaveTemplate={() => undefined} onDeleteTemplate={() => undefined} onLaunched={() => undefined} onCancel={() => undefined} />);
  await chooseOption(user, 'Fault kind', 'Process pause');

  // user.type reads [ and { as key descriptors: paste the patterns instead
  await user.click(byId('faultline-process-name'));
  await user.paste('(sleep)\\1');
  await user.click(screen.getByRole('button', { name: 'Add alert matcher' }));
  await user.click(screen.getByLabelText('Alert matcher 1'));
  await user.paste('service=~"api)|(.*"');
  await user.click(screen.getByRole('button', { name: 'Launch' }));
  expect(await screen.findByText(/is not a valid RE2 regular expression: invalid escape sequence: `\\1` \(RE2 has no backreferences\)/)).toBeInTheDocument();
  expect(screen.getByText(/invalid regular expression \(RE2 syntax\): unexpected \)/)).toBeInTheDocument();
  expect(callsOf(api, 'createExperiment')).toHaveLength(0);

  // RE2 syntax that JavaScript lacks, and a pattern that is hostile only to a backtracking engine
  await user.clear(byId('faultline-process-name'));
  await user.click(byId('faultline-process-name'));
  await user.paste('^(a+)+Q|[[:alpha:]]\\pL');
  await user.clear(screen.getByLabelText('Alert matcher 1'));
  await user.click(screen.getByLabelText('Alert matcher 1'));
  await user.paste('service=~"(?i)API|\\\\pL+"');
  await user.click(screen.getByRole('button', { name: 'Launch' }));
  await waitFor(() => expect(callsOf(api, 'createExperiment')).toHaveLength(1));
  const body = callsOf(api, 'createExperiment')[0].args[0] as { spec: { targets: { selector: unknown }; guards: unknown } };
  expect(body.spec.targets.selector).toEqual({ processName: '^(a+)+Q|[[:alpha:]]\\pL' });
  expect(body.spec.guards).toEqual({ alerts: ['service=~"(?i)API|\\\\pL+"'] });
});
